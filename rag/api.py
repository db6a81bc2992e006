"""The public entry point: RAG.build / RAG.open, then ask, stream, ask_many."""

import dataclasses
import logging
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.answering.answer import Answer
from rag.answering.pipeline import Answerer, Options
from rag.config import Config
from rag.documents import read_document, upload_name
from rag.errors import DocumentError, RagError
from rag.indexing import IndexReport, Progress, update_index
from rag.locking import index_lock
from rag.models.base import Embedder, Generator
from rag.models.factory import default_embedder, default_generator, default_ranker, indexing_embedder
from rag.inputs import MAX_QUESTION_CHARS, check_history, check_question  # noqa: F401 (MAX_QUESTION_CHARS: public)
from rag.stores.factory import config_store, load_store, make_retriever
from rag.stores.store import Store, read_manifest

log = logging.getLogger(__name__)

# Questions handed to the pipeline together by ask_many: their evidence is found one after the
# other, then their drafts are written side by side in the generator's slots.
BATCH_SIZE = 24


class AnswerStream:
    """Iterate for the answer text as it is generated; `answer` is set when iteration ends.

    If the model's draft fails verification, the final `answer.text` (the quoted evidence)
    replaces what was streamed, so show `answer.text` once the stream is done.
    """

    def __init__(self, pieces: Iterator[str]):
        self._pieces = pieces
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._pieces

    def result(self) -> Answer:
        """Runs the stream to its end (if not done yet) and returns the Answer."""
        if self.answer is None:
            for _ in self:
                pass
        return self.answer


class RAG:
    """A question answerer over one index. Make one with RAG.build or RAG.open.

    Models load on first use (or on warm_up) and are shared by every call; the object is safe
    to use from several threads.
    """

    def __init__(self, store: Store, index_dir: Path, config: Config,
                 embedder: Embedder | None = None, generator: Generator | None = None):
        self.index_dir = Path(index_dir)
        self.config = config
        self.embedder = embedder or default_embedder(config)
        self.generator = generator or default_generator(config)
        self.ranker = default_ranker(config)
        self.report: IndexReport | None = None
        self._lock = threading.Lock()
        self._update_lock = threading.Lock()
        self._store = store
        self._answerer: Answerer | None = None

    @classmethod
    def open(cls, index_dir: str | Path = "index", config: Config | None = None, *,
             embedder: Embedder | None = None, generator: Generator | None = None) -> "RAG":
        """Loads a built index.

        Args:
            index_dir: the index folder.
            config: settings; index settings left at their defaults are taken from the index,
                and ones that differ from it are refused (IndexMismatchError).
            embedder, generator: objects to use instead of the configured models.
        """
        index_dir = Path(index_dir)
        config = merged_config(index_dir, config)
        return cls(load_store(index_dir, config), index_dir, config, embedder, generator)

    @classmethod
    def build(cls, corpus_dir: str | Path = "corpus", index_dir: str | Path = "index",
              config: Config | None = None, *, rebuild: bool = False, progress: Progress | None = None,
              embedder: Embedder | None = None, generator: Generator | None = None) -> "RAG":
        """Builds the index of a folder, or brings an existing one up to date.

        Only new or changed files are embedded; `rag.report` says what changed. Files that
        cannot be read are skipped and named in `rag.report.skipped`.
        """
        config = recorded_store(Path(index_dir), config or Config())
        embedder = embedder or default_embedder(config)
        with index_lock(index_dir):
            store, report = update_index(Path(corpus_dir), Path(index_dir), config, indexing_embedder(config, embedder),
                                         rebuild, progress)
        rag = cls(store, Path(index_dir), config, embedder, generator)
        rag.report = report
        return rag

    @property
    def store(self) -> Store:
        return self._store

    @property
    def answerer(self) -> Answerer:
        """The pipeline over the current store (its lexical indexes are built on first use)."""
        with self._lock:
            if self._answerer is None or self._answerer.store is not self._store:
                self._answerer = Answerer(self._store, make_retriever(self._store), self.embedder, self.generator, self.config,
                                         self.ranker)
            return self._answerer

    @property
    def corpus_dir(self) -> Path:
        return (self.index_dir / self.store.corpus).resolve()

    @property
    def documents(self) -> list[str]:
        """Source names of the indexed documents."""
        return sorted(self.store.documents)

    def document_text(self, source: str) -> str:
        """The text that citation offsets of `source` point into."""
        return self.store.documents[source].text

    def warm_up(self):
        """Loads the models now instead of on the first question."""
        self.embedder.embed(["warm up"])
        if not self.config.extractive_only and hasattr(self.generator, "warm_up"):
            self.generator.warm_up()

    def options(self, **overrides) -> Options:
        return Options.from_config(self.config, **overrides)

    def stream(self, question: str, *, history: list[str] | None = None, **overrides) -> AnswerStream:
        """Answers a question, streaming the text.

        Args:
            question: the question.
            history: earlier questions of the conversation, oldest first (for follow-ups).
            **overrides: top_k, max_evidence, max_new_tokens or extractive_only for this call.
        """
        question = check_question(question)
        return AnswerStream(self._remembered(question, check_history(history), self.options(**overrides)))

    def ask(self, question: str, *, history: list[str] | None = None, **overrides) -> Answer:
        """Answers a question. Same arguments as stream.

        Threads may ask at the same time: the generator writes their drafts side by side.
        """
        question = check_question(question)
        return AnswerStream(self._remembered(question, check_history(history), self.options(**overrides))).result()

    def _remembered(self, question: str, history: list[str] | None, options: Options) -> Iterator[str]:
        """The answer's stream; or, for a question answered before on this index (or being
        answered now), that answer's text at once (rag/answering/memo.py, Config.answer_memo)."""
        answerer = self.answerer
        key = memo_key(question, history, options)
        started = time.perf_counter()
        if (answer := answerer.memo.recall(key)) is not None:
            answer = from_memo(answer, started)
            yield answer.text
            return answer
        try:
            answer = yield from answerer.stream(question, history, options)
        except BaseException:  # an error, or the stream closed early: a waiter writes it instead
            answerer.memo.drop(key)
            raise
        return answerer.memo.keep(key, answer)

    def ask_many(self, questions: Iterable[str], **overrides) -> list[Answer]:
        """Answers questions in input order: the models load once, every question is embedded
        in one call, and drafts are written side by side in the generator's slots.

        Args:
            questions: the questions.
            **overrides: as for stream.
        """
        return list(self.answer_each(list(questions), **overrides))

    def answer_each(self, questions: list[str], **overrides) -> Iterator[Answer]:
        """Like ask_many, but yields the Answers as they are ready (a batch of drafts at a time).
        A question answered before on this index gets that answer (as `ask` would)."""
        questions = [check_question(q) for q in questions]
        options = self.options(**overrides)
        vectors = self.embedder.embed(questions) if questions else []
        answerer = self.answerer
        for start in range(0, len(questions), BATCH_SIZE):
            started = time.perf_counter()
            keys = [memo_key(q, None, options) for q in questions[start:start + BATCH_SIZE]]
            answers = [a and from_memo(a, started) for a in map(answerer.memo.get, keys)]
            todo = [i for i, a in enumerate(answers) if a is None]
            fresh = answerer.answer_batch([questions[start + i] for i in todo], [vectors[start + i] for i in todo], options)
            for i, answer in zip(todo, fresh, strict=True):
                answers[i] = answerer.memo.keep(keys[i], answer)
            yield from answers

    def update(self, *, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Re-reads the corpus folder and indexes what changed.

        Raises:
            IndexLockedError: another process (`rag index`, say) is updating the index now.
        """
        with self._update_lock, index_lock(self.index_dir):
            return self._reindex(rebuild, progress)

    def _reindex(self, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        # The caller holds the index lock.
        store, report = update_index(self.corpus_dir, self.index_dir, self.config,
                                     indexing_embedder(self.config, self.embedder), rebuild, progress)
        with self._lock:
            self._store = store
            self.report = report
        return report

    def add_files(self, paths: Iterable[str | Path], *, progress: Progress | None = None) -> IndexReport:
        """Copies readable files into the corpus folder and indexes them.

        A file that cannot be read (or is over config.max_file_mb) is not copied (the corpus
        keeps only usable documents); it is named with the reason in the report's `skipped`.
        Each file lands in the corpus folder itself under documents.upload_name(its name).
        """
        corpus = self.corpus_dir
        unreadable = {}
        # Locked before the copy: a file is not put in the corpus under a running `rag index`.
        with self._update_lock, index_lock(self.index_dir):
            for path in map(Path, paths):
                name = upload_name(path.name)
                try:
                    read_document(path, path.parent, max_mb=self.config.max_file_mb)
                except DocumentError as exc:
                    unreadable[name] = exc.reason
                    continue
                shutil.copyfile(path, corpus / name)
            report = self._reindex(progress=progress)
        report.skipped.update(unreadable)
        return report

    def remove_document(self, source: str) -> IndexReport:
        """Deletes a document from the corpus folder and from the index."""
        if source not in self.store.documents:
            raise RagError(f"no document named {source!r} in the index")
        path = (self.corpus_dir / source).resolve()
        if self.corpus_dir not in path.parents:
            raise RagError(f"{source!r} is not inside the corpus folder")
        with self._update_lock, index_lock(self.index_dir):
            path.unlink(missing_ok=True)
            return self._reindex()


def memo_key(question: str, history: list[str] | None, options: Options) -> tuple:
    """What makes two asks the same question for the answer memo."""
    return question, tuple(history or ()), options


def from_memo(answer: Answer, started: float) -> Answer:
    """A remembered answer, its timings those of this call (the memo lookup, and any wait)."""
    spent = (time.perf_counter() - started) * 1000.0
    return dataclasses.replace(answer, timings={"memo": spent, "total": spent})


def merged_config(index_dir: Path, config: Config | None) -> Config:
    """Fills index settings and the store the caller left at their defaults from the index's
    manifest (so an update writes where the index is)."""
    manifest = read_manifest(index_dir)
    config = config or Config()
    defaults = Config()
    taken = {k: manifest[k] for k in config.index_settings() if getattr(config, k) == getattr(defaults, k) and k in manifest}
    return recorded_store(index_dir, config.replace(**taken), manifest)


def recorded_store(index_dir: Path, config: Config, manifest: dict | None = None) -> Config:
    """Config with the store and collection of the index at index_dir where config leaves
    them unset: an update writes where the index is (`rag index --store` moves it)."""
    if manifest is None:
        try:
            manifest = read_manifest(index_dir)
        except RagError:
            return config
    recorded = {"store": config_store(manifest.get("store", "faiss"), index_dir), "collection": manifest.get("collection")}
    return config.replace(**{k: v for k, v in recorded.items() if getattr(config, k) is None})
