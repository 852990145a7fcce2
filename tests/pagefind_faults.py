"""The real Pagefind with one fault injected, for the tests of how a failing search step is reported.

Run as the Pagefind program (PAGEFIND_BINARY_PATH points at a script that execs
this): it starts the real `pagefind --service` (REAL_PAGEFIND), passes every
request and reply through, and at the page named by PAGEFIND_FAULT_PAGE does
what PAGEFIND_FAULT says:

    crash     print a line to stderr and die of SIGSEGV (Pagefind crashing on a page)
    garbage   write bytes that are no reply to stdout (a warning on the wrong stream)
    no-entry  let the page through, but leave pagefind-entry.json out of the bundle
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading


def messages(stream):
    """Yield each comma-ended message of a stream, without its comma."""
    parts = []
    while chunk := stream.read1(1 << 20):
        while (comma := chunk.find(b",")) >= 0:
            parts.append(chunk[:comma])
            yield b"".join(parts)
            parts, chunk = [], chunk[comma + 1:]
        parts.append(chunk)


def main() -> None:
    fault, page = os.environ["PAGEFIND_FAULT"], os.environ["PAGEFIND_FAULT_PAGE"]
    real = subprocess.Popen([os.environ["REAL_PAGEFIND"], *sys.argv[1:]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = sys.stdout.buffer
    files_request: list[int] = []
    lock = threading.Condition()
    counts = {"forwarded": 0, "answered": 0}

    def relay_replies():
        for message in messages(real.stdout):
            reply = json.loads(base64.b64decode(message))
            if reply.get("message_id") in files_request and fault == "no-entry":
                reply["payload"]["files"] = [f for f in reply["payload"]["files"] if f["path"] != "pagefind-entry.json"]
                message = base64.b64encode(json.dumps(reply).encode())
            with lock:
                out.write(message + b",")
                out.flush()
                counts["answered"] += 1
                lock.notify_all()

    threading.Thread(target=relay_replies, daemon=True).start()
    for message in messages(sys.stdin.buffer):
        request = json.loads(base64.b64decode(message))
        payload = request["payload"]
        if payload["type"] == "GetFiles":
            files_request.append(request["message_id"])
        if payload["type"] == "AddFile" and payload["file_path"] == page:
            if fault == "crash":
                with lock:  # as Pagefind does: every page before this one answered
                    lock.wait_for(lambda: counts["answered"] == counts["forwarded"])
                sys.stderr.write("pagefind: thread 'main' panicked while parsing the page\n")
                sys.stderr.flush()
                real.kill()
                os.kill(os.getpid(), signal.SIGSEGV)
            if fault == "garbage":
                with lock:
                    lock.wait_for(lambda: counts["answered"] == counts["forwarded"])
                    out.write(b"Warning: this is not a reply,")
                    out.flush()
        with lock:
            counts["forwarded"] += 1
        real.stdin.write(message + b",")
        real.stdin.flush()
    real.stdin.close()
    real.wait()


if __name__ == "__main__":
    main()
