"""The OpenAI Chat Completions API on rag's public API, so chat clients that speak it (the
`openai` package, Open WebUI, ...) can ask the documents: GET /v1/models, POST /v1/chat/completions.

- The last user message is the question; the user messages before it are the follow-up history,
  as in the chat. System and assistant messages are not read: the answer comes from the index.
- The answer text carries its [n]; `message.citations` (and the final chunk's `delta.citations`)
  holds the cited passages (n, source, start, end, quote, score), `abstained` says when the
  documents do not answer.
- Streamed answers are sent once verified: the role chunk at once, then the verified text, then
  a chunk with the citations, then `data: [DONE]`. A draft that fails verification is replaced
  by quoted evidence (AnswerStream), and an SSE client cannot take back text it was sent, so no
  draft is streamed as it is written: the text arrives whole when the answer is ready.
- `max_tokens` (or `max_completion_tokens`) lowers the tokens the model may write below the
  server's max_new_tokens; a quoted answer is never cut. temperature, top_p, stop, tools and the
  like are accepted and ignored: drafts are greedy and must pass verification.
"""

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from rag import RAG, MissingDependencyError, RagError
from ui.line import Line

try:
    from anyio.to_thread import run_sync
    from fastapi import APIRouter, Request
    from fastapi.routing import APIRoute
    from fastapi.responses import JSONResponse, StreamingResponse
except ImportError as exc:
    raise MissingDependencyError("the API needs fastapi: pip install 'rag[ui]'") from exc

log = logging.getLogger(__name__)

MODEL = "rag"  # the one model a server offers: its index
MAX_BODY_BYTES = 1_000_000
MAX_WAITING = 32  # questions waiting in line; more are told to come back (429)
POLL_SECONDS = 0.05  # how often a waiting API question looks at the line (it holds no thread)


class ApiError(Exception):
    """A request the API turns down, in OpenAI's error shape."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "param": param, "code": code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status)


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: list[str]
    stream: bool
    max_tokens: int | None


def message_text(message: dict) -> str:
    """The text of a message whose content is a string or a list of parts ({"type": "text", ...})."""
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return " ".join(content.split()) if isinstance(content, str) else ""


def positive_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ApiError(400, f"{name} must be a whole number of at least 1, not {json.dumps(value)}", name)
    return value


def parse_request(raw: bytes) -> ChatRequest:
    """Reads a chat completion request. Raises ApiError (400, 404) for what cannot be answered."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if model is not None and model != MODEL:
        raise ApiError(404, f"the model {model!r} does not exist: this server answers as {MODEL!r} (GET /v1/models)",
                       "model", "model_not_found")
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ApiError(400, "messages must be a list of {\"role\", \"content\"} objects", "messages")
    asked = [message_text(m) for m in messages if m.get("role") == "user"]
    if not asked:
        raise ApiError(400, "no user message: the last user message is the question", "messages")
    if body.get("n") not in (None, 1):
        raise ApiError(400, "n must be 1: there is one answer to a question", "n")
    if not isinstance(body.get("stream", False), (bool, type(None))):
        raise ApiError(400, "stream must be true or false", "stream")
    tokens = [positive_int(body, name) for name in ("max_tokens", "max_completion_tokens")]
    tokens = [t for t in tokens if t is not None]
    return ChatRequest(asked[-1], [q for q in asked[:-1] if q], bool(body.get("stream")), min(tokens, default=None))


async def read_body(request: Request) -> bytes:
    """The request's body; one over MAX_BODY_BYTES is refused (unread, where its length is declared)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request is over {MAX_BODY_BYTES:,} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request is over {MAX_BODY_BYTES:,} bytes")
    return raw


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def sources(answer) -> dict:
    """The fields a client shows sources from, beside the text."""
    return {"citations": answer.to_dict()["citations"], "abstained": answer.abstained}


def completion(answer, cid: str, created: int) -> dict:
    message = {"role": "assistant", "content": answer.text, "refusal": None, **sources(answer)}
    return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def chunk(cid: str, created: int, delta: dict, finish_reason: str | None = None) -> str:
    """One server-sent event of a streamed completion."""
    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def failure(exc: Exception) -> ApiError:
    """An error met while answering, for the client (the traceback stays in the server's log)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RagError):
        return ApiError(500, f"could not answer: {exc}", kind="server_error")
    log.exception("the API failed to answer")
    return ApiError(500, "the server failed to answer; its log says why", kind="server_error")


class Api:
    """The /v1 endpoints over one RAG.

    Args:
        rag: the answerer.
        line: where questions wait their turn, shared with the chat.
        key: the Bearer token every call must carry; None leaves the API open...
        locked: ...unless a login guards the page (--auth): then every call is refused.
    """

    def __init__(self, rag: RAG, line: Line, key: str | None = None, locked: bool = False):
        self.rag = rag
        self.line = line
        self.key = key or None
        self.locked = locked and not self.key
        self.created = int(time.time())

    def check_key(self, request: Request):
        if self.locked:
            raise ApiError(403, "the API is off: this server asks for a login (--auth) and has no API key; start it "
                           "with --api-key KEY (or RAG_API_KEY) and send that key as a Bearer token", code="api_locked")
        if self.key is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.key.encode()):
            raise ApiError(401, "missing or wrong API key: send the server's key (--api-key or RAG_API_KEY) as "
                           "'Authorization: Bearer KEY'", code="invalid_api_key")

    def models(self, request: Request):
        self.check_key(request)
        return {"object": "list", "data": [self.model(MODEL)]}

    def model(self, name: str) -> dict:
        if name != MODEL:
            raise ApiError(404, f"the model {name!r} does not exist: this server answers as {MODEL!r}", "model",
                           "model_not_found")
        return {"id": MODEL, "object": "model", "created": self.created, "owned_by": "rag"}

    async def chat_completions(self, request: Request):
        self.check_key(request)
        asked = parse_request(await read_body(request))
        try:  # checks the question at once (empty, too long) and answers only once iterated
            stream = await run_sync(lambda: self.rag.stream(asked.question, history=asked.history,
                                                            max_new_tokens=self.bounded(asked.max_tokens)))
        except ValueError as exc:
            raise ApiError(400, str(exc), "messages") from exc
        if self.line.waiting >= MAX_WAITING:
            raise ApiError(429, f"{MAX_WAITING} questions are waiting already: ask again in a moment",
                           code="busy", kind="rate_limit_error")
        cid, created = completion_id(), int(time.time())
        if asked.stream:
            return StreamingResponse(self.events(stream, cid, created), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        with self.line.place() as place:
            await self.turn(place)
            answer = await run_sync(stream.result)
        return completion(answer, cid, created)

    def bounded(self, max_tokens: int | None) -> int | None:
        return None if max_tokens is None else min(max_tokens, self.rag.config.max_new_tokens)

    async def turn(self, place):
        # Polled, so a waiting question holds no worker thread; a client that goes away while
        # waiting leaves the line (the stream is cancelled here).
        while not place.wait(0):
            await asyncio.sleep(POLL_SECONDS)

    async def events(self, stream, cid: str, created: int) -> AsyncIterator[str]:
        with self.line.place() as place:
            yield chunk(cid, created, {"role": "assistant", "content": ""})
            try:
                await self.turn(place)
                answer = await run_sync(stream.result)
            except Exception as exc:  # the status line has gone out: the error goes as an event
                yield f"data: {json.dumps(failure(exc).body, ensure_ascii=False)}\n\n"
                yield "data: [DONE]\n\n"
                return
        yield chunk(cid, created, {"content": answer.text})
        yield chunk(cid, created, sources(answer), "stop")
        yield "data: [DONE]\n\n"


class OpenAIRoute(APIRoute):
    """A route whose every refusal or failure is answered in OpenAI's error shape, never a traceback."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handler(request)
            except Exception as exc:
                return failure(exc).response()

        return route


def api_routes(rag: RAG, line: Line, key: str | None = None, *, locked: bool = False) -> list:
    """The /v1 routes, for a FastAPI app (see Api for the arguments)."""
    api = Api(rag, line, key, locked)
    router = APIRouter(prefix="/v1", route_class=OpenAIRoute)

    @router.get("/models")
    def models(request: Request):
        return api.models(request)

    @router.get("/models/{name}")
    def model(request: Request, name: str):
        api.check_key(request)
        return api.model(name)

    @router.post("/chat/completions")
    async def chat_completions(request: Request):
        return await api.chat_completions(request)

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(request: Request, path: str):
        api.check_key(request)
        raise ApiError(404, f"no {request.method} /v1/{path} here: this server has GET /v1/models and "
                       "POST /v1/chat/completions", code="unknown_url")

    return router.routes
