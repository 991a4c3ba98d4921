import { isLoopbackAddress } from '../net/addresses.js';

/** Throws unless `address` is on the loopback interface: fixtures never bind or point elsewhere. */
export function assertLoopback(address: string, what: string): void {
  if (!isLoopbackAddress(address)) {
    throw new Error(
      `${what}: ${address} is not a loopback address; doctor tests stay on 127.0.0.0/8`,
    );
  }
}

/** The connect policy every doctor test passes: loopback addresses only. */
export const loopbackOnly = (address: string): boolean => isLoopbackAddress(address);
