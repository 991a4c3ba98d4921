"""skiff's stand-in for the parts of the Azure ML v1 SDK that entry scripts use at scoring time."""
