"""`rag index` in a child process, on the fake embedder, that can SIGKILL itself at a chosen moment.

    python -m tests.reliability.run_index --config FILE [--kill-at N] [--events FILE] [--hold S] -- INDEX ARGS...

Every moment where a crash could leave something half done counts as an event, in order: a
file opened for writing, a JSON row or manifest serialised (earlier rows may still sit in an
unflushed buffer, lost at the kill), an fsync before and after, the vector file written (a kill
there leaves it cut in half), a folder made, renamed or removed, an embedder call done. With
--kill-at N the process kills itself with SIGKILL at event N; --events writes the list of
events of a run that was not killed, so a test can spread its kills over a whole build.
"""

import argparse
import json
import os
import signal
import sys
import time

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT
WATCHED = {"os.rename", "os.mkdir", "os.remove", "os.rmdir", "shutil.rmtree"}


class Events:
    def __init__(self, kill_at: int | None):
        self.kill_at = kill_at
        self.seen: list[str] = []

    def __call__(self, label: str, before_kill=None):
        self.seen.append(label)
        if len(self.seen) == self.kill_at:
            if before_kill:
                before_kill()
            os.kill(os.getpid(), signal.SIGKILL)

    def audit(self, name: str, args: tuple):
        if name == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & WRITE_FLAGS)
            if writing and isinstance(path, (str, os.PathLike)):
                self(f"open {os.path.basename(os.fspath(path))}")
        elif name in WATCHED:
            self(name)


def install(events: Events, hold: float):
    import json as json_module

    import faiss

    import rag.models.factory
    from tests.fakes import FakeEmbedder

    class SlowFakeEmbedder(FakeEmbedder):
        def embed(self, texts):
            time.sleep(hold)
            vectors = super().embed(texts)
            events("embedded")
            return vectors

    rag.models.factory.SentenceTransformerEmbedder = lambda name: SlowFakeEmbedder()

    fsync = os.fsync

    def counted_fsync(fd):
        events("before fsync")
        fsync(fd)
        events("after fsync")

    os.fsync = counted_fsync

    dumps = json_module.dumps

    def counted_dumps(*args, **kwargs):
        text = dumps(*args, **kwargs)
        events("json")
        return text

    json_module.dumps = counted_dumps

    write_index = faiss.write_index

    def counted_write_index(index, path):
        write_index(index, path)
        events("vectors written", before_kill=lambda: os.truncate(path, os.path.getsize(path) // 2))

    faiss.write_index = counted_write_index
    sys.addaudithook(events.audit)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--kill-at", type=int)
    parser.add_argument("--events")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds each embedder call takes")
    parser.add_argument("--unsafe-manifest", action="store_true",
                        help="write the manifest in place, not atomically (shows that the kill tests can fail)")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    from rag.cli import cli

    events = Events(args.kill_at)
    install(events, args.hold)
    if args.unsafe_manifest:
        import rag.stores.store

        def in_place(path, text):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text[:len(text) // 2])
                f.flush()
                events("manifest half written")
                f.write(text[len(text) // 2:])

        rag.stores.store.write_atomic = in_place
    try:
        rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
        cli.main(["--config", args.config, "index", *rest], prog_name="rag", standalone_mode=False)
        code = 0
    except Exception as exc:  # the test reads the message
        print(f"Error: {exc}", file=sys.stderr)
        code = 1
    seen, events.kill_at = list(events.seen), None
    if args.events:
        with open(args.events, "w", encoding="utf-8") as f:
            f.write(json.dumps(seen))
    sys.exit(code)


if __name__ == "__main__":
    main()
