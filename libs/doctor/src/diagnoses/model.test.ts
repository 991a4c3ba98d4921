import { describe, expect, it } from 'vitest';
import { zoneOf } from './model.js';

describe('zoneOf', () => {
  it.each([
    ['skiffstore.privatelink.blob.core.windows.net', 'privatelink.blob.core.windows.net'],
    ['skiffacr.azurecr.io', 'azurecr.io'],
    ['skiffacr.westeurope.data.azurecr.io', 'data.azurecr.io'],
    ['aks1.hcp.westeurope.azmk8s.io', 'azmk8s.io'],
    ['mcr.microsoft.com', 'microsoft.com'],
    ['orders.db.example.net', 'db.example.net'],
    ['example.net', 'example.net'],
  ])('%s → %s', (name, zone) => expect(zoneOf(name)).toBe(zone));
});
