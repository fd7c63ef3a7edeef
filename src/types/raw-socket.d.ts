// Types for raw-socket 1.8 (the package ships none); only what tandem uses.
declare module 'raw-socket' {
  import { EventEmitter } from 'node:events';

  export interface SocketOptions {
    protocol?: number;
    addressFamily?: number;
    bufferSize?: number;
    generateChecksums?: boolean;
    checksumOffset?: number;
  }

  export class Socket extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      beforeCallback: (() => void) | null,
      afterCallback: (error: Error | null, bytes: number) => void,
    ): this;
    setOption(level: number, option: number, buffer: Buffer, length: number): void;
    setOption(level: number, option: number, value: number): void;
    close(): this;
    pauseRecv(): this;
    resumeRecv(): this;
  }

  export function createSocket(options?: SocketOptions): Socket;

  export const AddressFamily: { IPv4: number; IPv6: number };

  const raw: {
    createSocket: typeof createSocket;
    AddressFamily: typeof AddressFamily;
    Socket: typeof Socket;
  };
  export default raw;
}
