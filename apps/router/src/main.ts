// `skiff-router`: the scoring front end of one compute target (apps/router/README.md).
process.stderr.write('skiff-router: not built yet\n');
process.exit(2);
