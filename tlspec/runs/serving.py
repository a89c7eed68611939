"""`tlspec serve`: a finished run behind an HTTP JSON API (FastAPI on uvicorn; the ``serve`` extra).

``GET /health``, ``GET /metadata`` (inputs, heads and their classes, versions, limits), ``POST /predict``
(``serve_requests`` says what it takes), OpenAPI docs at ``/docs``. Items go through the run's data
plugin exactly as in ``tlspec predict``, micro-batched across concurrent requests (``micro_batch``).
A bad request gets a 4xx JSON ``{"error": …}``; an item that cannot be read is reported on its own
(422, with the other items' predictions).
"""

# No ``from __future__ import annotations``: FastAPI reads the route's ``request: Request`` at definition.
import tempfile
from contextlib import asynccontextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from tlspec import __version__
from tlspec.errors import TlspecError
from tlspec.runs.export import head_meaning, input_preprocessing
from tlspec.runs.load import open_run
from tlspec.runs.micro_batch import MicroBatcher
from tlspec.runs.predict import Predictor, keep_top
from tlspec.runs.serve_requests import BadRequest, PredictRequest, Upload, from_json, from_uploads

SERVE_EXTRA = "pip install 'tlspec[serve]'"


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 32  # items one model call takes from concurrent requests
    max_wait_ms: float = 5.0  # how long the first request of a batch waits for others
    max_request_bytes: int = 10_000_000
    max_items: int = 256  # items in one request


def create_app(run_dir, settings: ServeSettings = ServeSettings()):
    try:
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from starlette.exceptions import HTTPException
    except ImportError:
        raise TlspecError(f"tlspec serve needs FastAPI and uvicorn, not installed here: {SERVE_EXTRA}") from None

    service = Service(run_dir, settings)

    @asynccontextmanager
    async def lifespan(app):
        yield
        await service.close()

    app = FastAPI(lifespan=lifespan, title=f"tlspec: {service.info.spec_name}", version=__version__,
                  description="Predictions of a tlspec run. POST /predict takes JSON {\"instances\": [...]} (texts, "
                              "or {\"b64\": ...} files), JSON {\"inputs\": {name: array}}, or multipart 'file' fields.")
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, error):
        return JSONResponse({"error": "the request does not match the API", "details": error.errors()}, 422)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "run": service.info.spec_name}

    @app.get("/metadata")
    async def metadata() -> dict:
        return service.metadata()

    @app.post("/predict", responses={400: {"description": "a malformed request"},
                                     413: {"description": "too large"}, 415: {"description": "not JSON or multipart"},
                                     422: {"description": "some items could not be read; the others are predicted"}})
    async def predict(request: Request):
        try:
            parsed = await service.parse(request)
            predictions = await service.predict(parsed)
        except BadRequest as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        except TlspecError as error:  # the data plugin or model refused the request as a whole
            return JSONResponse({"error": str(error)}, status_code=422)
        failed = sum("error" in item for item in predictions)
        if failed:
            return JSONResponse({"error": f"{failed} of {len(predictions)} items could not be read",
                                 "predictions": predictions}, status_code=422)
        return {"predictions": predictions}

    return app


class Service:
    """The run's predictor behind two micro-batchers: texts, and uploaded files (never mixed in a batch)."""

    def __init__(self, run_dir, settings: ServeSettings):
        self.settings = settings
        self.run, self.info, self.validated = open_run(run_dir, recorded_data=True)
        self.predictor = Predictor(self.run, self.info, self.validated, beam_width=1)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="tlspec-model")  # TensorFlow: one batch at a time
        wait = settings.max_wait_ms / 1000
        self.texts = MicroBatcher(lambda items: self.predictor.predict(items, local_files=False), self.executor,
                                  settings.max_batch, wait)
        self.files = MicroBatcher(lambda items: self.predictor.predict(items, local_files=True), self.executor,
                                  settings.max_batch, wait)
        fields = self.validated.description.inputs if self.validated.description else {}
        self.output_shapes = self.predictor.output_shapes()
        self.inputs = {name: (tuple(shape), fields[name].dtype if name in fields else "float32")
                       for name, shape in self.info.inputs.items()}

    def metadata(self) -> dict:
        preprocessing = input_preprocessing(self.validated)
        return {
            "run": self.info.spec_name,
            "tlspec_version": __version__,
            "plugins": dict(self.info.plugins),
            "inputs": {name: {"shape": [None, *shape], "dtype": dtype, "preprocessing": preprocessing.get(name)}
                       for name, (shape, dtype) in self.inputs.items()},
            "heads": {name: head_meaning(record, self.output_shapes.get(name, [])) | {"targets": record.targets}
                      for name, record in self.info.heads.items()},
            "limits": {key: value for key, value in asdict(self.settings).items() if key not in ("host", "port")},
            "batches": {"run": self.texts.batches_run + self.files.batches_run,
                        "items": self.texts.items_run + self.files.items_run},
        }

    async def parse(self, request) -> PredictRequest:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            return from_json(await request.body(), self.settings.max_items, self.inputs)
        if kind == "multipart/form-data":
            try:
                form = await request.form(max_files=self.settings.max_items + 1, max_fields=16)
            except Exception as error:  # Starlette's parser refuses malformed or oversize forms
                raise BadRequest(400, f"the multipart body cannot be read: {error}") from None
            files = [(upload.filename, await upload.read()) for upload in form.getlist("file")
                     if hasattr(upload, "read")]
            top_k = form.get("top_k")
            return from_uploads(files, top_k if isinstance(top_k, str) else None, self.settings.max_items)
        raise BadRequest(415, f"send application/json or multipart/form-data, not {kind or 'a body without a type'}")

    async def predict(self, request: PredictRequest) -> list[dict]:
        import asyncio

        if request.arrays is not None:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.executor, self.predictor.predict_arrays, request.arrays)
        else:
            results = await self._items(request)
        if request.top_k:
            for result in results:
                for described in result.get("heads", {}).values():
                    keep_top(described, request.top_k)
        return results

    async def _items(self, request: PredictRequest) -> list[dict]:
        import asyncio

        results: list[dict | None] = [None] * len(request.items)
        for index, message in request.errors.items():
            results[index] = {"input": f"instance {index}", "error": message}
        texts = [(i, item) for i, item in enumerate(request.items) if isinstance(item, str)]
        uploads = [(i, item) for i, item in enumerate(request.items) if isinstance(item, Upload)]
        with tempfile.TemporaryDirectory(prefix="tlspec-serve-") as folder:
            paths = [_saved(Path(folder), i, upload) for i, upload in uploads]
            jobs = []
            if texts:
                jobs.append(self.texts.submit([text for _, text in texts]))
            if uploads:
                jobs.append(self.files.submit(paths))
            done = await asyncio.gather(*jobs)
        answers = list(done)
        if texts:
            for (index, _), result in zip(texts, answers.pop(0)):
                results[index] = result
        if uploads:
            for (index, upload), path, result in zip(uploads, paths, answers.pop(0)):
                results[index] = _named(result, path, upload.name)
        return results

    async def close(self) -> None:
        await self.texts.close()
        await self.files.close()
        self.executor.shutdown(wait=False)


def _saved(folder: Path, index: int, upload: Upload) -> str:
    """An upload as a file the data plugin can read, in its own folder (two uploads may share a name)."""
    (folder / str(index)).mkdir()
    path = folder / str(index) / upload.name
    path.write_bytes(upload.data)
    return str(path)


def _named(result: dict, path: str, name: str) -> dict:
    """The client's name for an upload in place of the temporary file's, in the result and its messages."""
    result = dict(result, input=name)
    if "error" in result:
        result["error"] = result["error"].replace(path, name)
    return result


class BodyLimit:
    """Refuse a body over ``max_bytes`` with 413 before it is read whole (by its length, or as it streams)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send, int(length))
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BadRequest(413, self._message(seen))
            return message

        try:
            return await self.app(scope, limited, send)
        except BadRequest:
            return await self._refuse(send, seen)

    def _message(self, size: int) -> str:
        return (f"the request is {size:,} bytes or more; this server takes at most {self.max_bytes:,} "
                "(--max-request-bytes)")

    async def _refuse(self, send, size: int) -> None:
        import json

        body = json.dumps({"error": self._message(size)}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def serve(run_dir, settings: ServeSettings) -> None:
    try:
        import uvicorn
    except ImportError:
        raise TlspecError(f"tlspec serve needs FastAPI and uvicorn, not installed here: {SERVE_EXTRA}") from None
    app = create_app(run_dir, settings)
    print(f"serving {run_dir} on http://{settings.host}:{settings.port} (API docs: /docs; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
