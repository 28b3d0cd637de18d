#!/usr/bin/env python3
"""A tiny round-robin TCP proxy for the failover measurement (scripts/failover-measure):
each new connection goes to the next backend; a backend that refuses is skipped."""
import asyncio
import itertools
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(listen_port, backends):
    turn = itertools.cycle(range(len(backends)))

    async def handle(client_r, client_w):
        for _ in range(len(backends)):
            host, port = backends[next(turn)]
            try:
                up_r, up_w = await asyncio.open_connection(host, port)
                break
            except OSError:
                continue
        else:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port = int(sys.argv[1])
    targets = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in sys.argv[2:]]
    asyncio.run(main(port, targets))
