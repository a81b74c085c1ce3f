/**
 * The end of a connection the server closed (4008, 1011, 1001): the close (WebSocket close frame, SSE end of
 * the response) is the last thing written, right behind what the socket already held. A client that has not let
 * the socket hand all of it to the kernel within `graceMs` is not reading, and the connection is destroyed.
 * One that has is left to finish: the close is on its way, behind at most what the kernel buffers, and
 * WebSocket's close timeout (or the HTTP keep-alive timeout) bounds the rest.
 */
import type { Socket } from "node:net";

export function destroyUnlessDrained(socket: Socket, graceMs: number, destroy: () => void): void {
  setTimeout(() => {
    if (!socket.destroyed && socket.writableLength > 0) destroy();
  }, graceMs).unref();
}
