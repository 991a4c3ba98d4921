// Iris classifier entry script for skiff's JavaScript runtime: the same contract as score.py,
// init() once and run(rawData) per request, and the same model file.
//
// Request:  {"data": [[sepal_length, sepal_width, petal_length, petal_width], ...]}  (cm)
// Response: {"predictions": ["setosa", ...], "probabilities": [[...3 numbers], ...]}
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

let model;

export const inputSchema = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'array',
      items: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 },
    },
  },
  example: { data: [[5.1, 3.5, 1.4, 0.2]] },
};

export async function init() {
  // One model deployed: AZUREML_MODEL_DIR is that model's folder (<name>/<version>).
  const path = join(process.env.AZUREML_MODEL_DIR, 'iris-logreg.json');
  model = JSON.parse(await readFile(path, 'utf8'));
  console.log(`loaded ${path} with classes ${model.classes.join(', ')}`);
}

function predict(row) {
  if (row.length !== model.features.length) {
    throw new RangeError(
      `expected ${model.features.length} measurements per flower, got ${row.length}`,
    );
  }
  const z = row.map((value, j) => (Number(value) - model.mean[j]) / model.std[j]);
  const scores = model.weights.map(
    (weights, c) => weights.reduce((sum, w, j) => sum + w * z[j], 0) + model.bias[c],
  );
  const top = Math.max(...scores);
  const exps = scores.map((score) => Math.exp(score - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / total);
}

export function run(rawData) {
  const probabilities = JSON.parse(rawData).data.map(predict);
  return {
    predictions: probabilities.map((p) => model.classes[p.indexOf(Math.max(...p))]),
    probabilities: probabilities.map((p) => p.map((v) => Math.round(v * 1e6) / 1e6)),
  };
}
