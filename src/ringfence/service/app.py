"""The decision service: an ASGI app (Starlette) over the policies, the ledger and the log.

Endpoints (every one needs a bearer token unless the service runs ``--insecure-local``):

- ``POST /v1/decide`` (scope ``decide``): one call or an array; ``?reserve=true`` records each
  allowed call as a pending attempt atomically with its decision (needs a ledger);
- ``POST /v1/attempts``, ``/v1/consents``, ``/v1/revocations``, ``/v1/opt-outs``,
  ``/v1/complaints``, ``/v1/washes`` (scope ``write``): record facts in the ledger;
- ``GET /v1/policies``, ``/health``, ``/metrics``, ``/openapi.json`` (any scope).

Errors are JSON ``{"error": code, "message": ..., "path": ...}``: 400 malformed JSON or query,
401 no or unknown token, 403 wrong scope, 404, 405, 413 body too large, 422 a call or fact that
does not fit its contract (nothing is written), 501 no ledger configured, 503 ledger unreachable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ringfence.errors import CallError, InputError, RingfenceError
from ringfence.ledger.db import DATABASE_ERRORS
from ringfence.ledger.keys import read_key
from ringfence.ledger.store import Ledger, LedgerDecision
from ringfence.service.auth import SCOPES, Client, load_tokens, token_hash
from ringfence.service.batcher import Batcher
from ringfence.service.config import ServiceConfig, is_loopback
from ringfence.service.jsonio import dumps
from ringfence.service.log import DecisionLog
from ringfence.service.metrics import Metrics
from ringfence.service.openapi import openapi
from ringfence.service.policies import PolicyHolder
from ringfence.service.requests import ApiError, fields, read_json

logger = logging.getLogger("ringfence.service")
Handler = Callable[[Request], Awaitable[Response]]
ClientHandler = Callable[[Request, Client], Awaitable[Response]]


class JSONResponse(Response):
    """A JSON answer written by :func:`ringfence.service.jsonio.dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class Service:
    """The state behind the app: policies, ledger, log, tokens and metrics."""

    def __init__(self, config: ServiceConfig):
        config.check()
        self.config = config
        self.holder = PolicyHolder(config.policies, config.lists)
        self.tokens = load_tokens(config.tokens) if config.tokens else {}
        self.metrics = Metrics()
        self.log = (DecisionLog(config.log, max_bytes=config.log_max_bytes, fsync=config.log_fsync)
                    if config.log else None)
        self.ledger = (Ledger(config.ledger, key=read_key(config.key_file), seller=config.seller,
                              purposes=self.holder.current.purposes)
                       if config.ledger else None)
        # Decide on the event loop itself when nothing waits on a network: a SQLite ledger takes
        # one writer at a time anyway, and the hop to a worker thread and back cost more than
        # the decision. A PostgreSQL ledger is waited for in worker threads.
        self.inline = self.ledger is None or self.ledger.engine.dialect.name == "sqlite"
        # Reserving requests that arrive together share one ledger transaction and log write.
        self.reserving: Batcher[tuple[list[Any], Client], list[dict[str, Any] | CallError]] = (
            Batcher(lambda groups: self.decide_groups(groups, True), inline=self.inline))

    def close(self) -> None:
        """Release the ledger's connections and the log file."""
        if self.ledger is not None:
            self.ledger.close()
        if self.log is not None:
            self.log.close()

    def reload(self) -> bool:
        """Reload the changed lists and the policies (SIGHUP); the running ones stay if the new
        ones fail."""
        self.holder.reload_lists()
        done = self.holder.reload()
        if done and self.ledger is not None:  # facts may name what the new policies declare
            self.ledger.purposes = self.holder.current.purposes
        self.metrics.reloads.labels("ok" if done else "failed").inc()
        return done

    def reload_changed_policies(self) -> bool | None:
        """Reload the policies when one of their files changed (None: none did); as
        :meth:`reload`, a policy that fails to check never replaces the running ones."""
        return self.reload() if self.holder.policies_changed() else None

    # -- requests -----------------------------------------------------------------------------

    def client(self, request: Request, scope: str | None) -> Client:
        """Who sent the request; 401 without a known token, 403 without the scope."""
        if self.config.insecure_local:
            if not is_loopback(request.client.host if request.client else None):
                raise ApiError(403, "forbidden", "--insecure-local answers loopback clients only")
            return Client("local", frozenset(SCOPES))
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
        found = self.tokens.get(token_hash(token.strip()))
        if found is None:
            raise ApiError(401, "unauthorized", "unknown token")
        if scope is not None and scope not in found.scopes:
            raise ApiError(403, "forbidden", f"this token lacks the {scope!r} scope")
        return found

    def need_ledger(self) -> Any:
        if self.ledger is None:
            raise ApiError(501, "no_ledger", "this service runs without a ledger (--ledger)")
        return self.ledger

    def decide_groups(self, groups: list[tuple[list[Any], Client]], reserve: bool
                      ) -> list[list[dict[str, Any] | CallError]]:
        """Decide the calls of several requests, each ``(calls, client)``; answer in order.

        Each call gets its answer, or its :class:`CallError` when malformed. Reserving, every
        call of every request is decided in one ledger transaction (group commit, see
        :mod:`ringfence.service.batcher`); all the decisions are then logged in one write,
        before any answer leaves: an answered decision is always in the ledger and the log.
        """
        generation = self.holder.current
        policies = generation.policies
        ledger = self.ledger
        flat = [(call, client) for calls, client in groups for call in calls]
        made: list[LedgerDecision | CallError]
        if ledger is None:
            made = _each([call for call, _ in flat],
                         lambda call: LedgerDecision(policies.decide(call), None))
        elif reserve:
            self.metrics.groups.inc()
            made = ledger.reserve_many(policies, [(call, str(uuid.uuid4()), client.name)
                                                  for call, client in flat])
        else:
            made = [one for calls, _ in groups for one in ledger.decide_many(policies, calls)]
        answers: list[dict[str, Any] | CallError] = []
        records: list[dict[str, Any]] = []
        logged_at = _now()
        for (call, client), outcome in zip(flat, made, strict=True):
            if isinstance(outcome, CallError):
                answers.append(outcome)
                continue
            decision, attempt_id = outcome.decision, outcome.attempt_id
            decision_id = outcome.decision_id or str(uuid.uuid4())
            facts = outcome.facts.to_dict() if outcome.facts is not None else None
            result = decision.to_dict()
            self.metrics.decisions.labels(decision.decision, str(attempt_id is not None)).inc()
            answers.append({"decision_id": decision_id, "attempt_id": attempt_id, "result": result})
            records.append({"decision_id": decision_id, "logged_at": logged_at,
                            "client": client.name, "input": call, "reserve": reserve,
                            "attempt_id": attempt_id, "result": result,
                            "policies": generation.summary, "ledger_facts": facts})
        if self.log is not None and records:
            self.log.append(*records)
        out, start = [], 0
        for calls, _ in groups:
            out.append(answers[start:start + len(calls)])
            start += len(calls)
        return out


def _each(calls: list[Any], decide: Callable[[Any], LedgerDecision]
          ) -> list[LedgerDecision | CallError]:
    """``decide`` applied to each call; a malformed call gives its CallError in its place."""
    out: list[LedgerDecision | CallError] = []
    for call in calls:
        try:
            out.append(decide(call))
        except CallError as err:
            out.append(err)
    return out


def _endpoint(service: Service, name: str, scope: str | None
              ) -> Callable[[ClientHandler], Handler]:
    """Authorise, time and count a handler, and turn its errors into JSON answers."""

    def wrap(handler: ClientHandler) -> Handler:
        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request, service.client(request, scope))
            except ApiError as err:
                response = JSONResponse(err.body(), status_code=err.status,
                                        headers={"WWW-Authenticate": "Bearer"}
                                        if err.status == 401 else None)
            except InputError as err:
                field, _, message = str(err).partition(": ")
                response = JSONResponse({"error": "invalid", "message": str(err),
                                         "path": field if message else None}, status_code=422)
            except DATABASE_ERRORS as err:
                logger.error("ledger error: %s", err)
                response = JSONResponse({"error": "ledger_unavailable",
                                         "message": "the ledger database did not answer"},
                                        status_code=503)
            service.metrics.requests.labels(name, str(response.status_code)).inc()
            service.metrics.latency.labels(name).observe(time.perf_counter() - started)
            return response

        return run

    return wrap


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "bad_query", f"?{name}= takes true or false, not {value!r}", name)
    return value in ("true", "1")


def _routes(service: Service) -> list[Route]:
    config = service.config

    @_endpoint(service, "decide", "decide")
    async def decide(request: Request, client: Client) -> Response:
        reserve = _flag(request, "reserve")
        body = await read_json(request, config.max_body)
        if reserve:
            service.need_ledger()
        batch = isinstance(body, list)
        calls = body if batch else [body]
        if len(calls) > config.max_batch:
            raise ApiError(413, "too_large", f"at most {config.max_batch} calls in one request")
        made: list[dict[str, Any] | CallError]
        if reserve:
            made = await service.reserving.submit((calls, client))
        elif service.inline:
            made = service.decide_groups([(calls, client)], False)[0]
        else:
            made = (await run_in_threadpool(service.decide_groups, [(calls, client)], False))[0]
        answers: list[dict[str, Any]] = []
        for index, outcome in enumerate(made):
            if not isinstance(outcome, CallError):
                answers.append(outcome)
            elif batch:
                answers.append({"index": index, "error": "invalid_call",
                                "message": outcome.message, "path": outcome.path})
            else:
                raise ApiError(422, "invalid_call", outcome.message, outcome.path)
        return JSONResponse({"decisions": answers} if batch else answers[0])

    def fact(name: str, shape: str, record: Callable[[Any, dict[str, Any]], str]) -> Route:
        @_endpoint(service, name, "write")
        async def handler(request: Request, _client: Client) -> Response:
            body = fields(await read_json(request, config.max_body), shape)
            ledger = service.need_ledger()
            made = await run_in_threadpool(record, ledger, body)
            return JSONResponse({"id": made}, status_code=201)

        return Route(f"/v1/{name}", handler, methods=["POST"])

    def attempt(ledger: Any, body: dict[str, Any]) -> str:
        if "attempt_id" in body:  # the outcome of a reservation
            ledger.report_outcome(body["attempt_id"], body["outcome"], agent=body.get("agent"))
            return str(body["attempt_id"])
        return str(ledger.record_attempt(body["to"], body["at"], body.get("outcome"),
                                     **{k: body.get(k) for k in ("campaign", "subject", "purpose",
                                                                 "agent", "dialer")}))

    def consent(ledger: Any, body: dict[str, Any]) -> str:
        evidence = body.get("evidence", {})
        return str(ledger.record_consent(
            body["to"], body["type"], body["purposes"], body["at"],
            expires_at=body.get("expires_at"), seller=body.get("seller"),
            campaign=body.get("campaign"), recording_id=evidence.get("recording_id"),
            form_url=evidence.get("form_url"), document_hash=evidence.get("document_hash")))

    @_endpoint(service, "attempts", "write")
    async def attempts(request: Request, _client: Client) -> Response:
        body = await read_json(request, config.max_body)
        shaped = fields(body, "outcome" if isinstance(body, dict) and "attempt_id" in body
                        else "attempt")
        ledger = service.need_ledger()
        made = await run_in_threadpool(attempt, ledger, shaped)
        return JSONResponse({"id": made}, status_code=200 if "attempt_id" in shaped else 201)

    @_endpoint(service, "policies", None)
    async def policies(_request: Request, _client: Client) -> Response:
        current = service.holder.current
        return JSONResponse({"policies": current.summary, "loaded_at": current.loaded_at})

    @_endpoint(service, "health", None)
    async def health(_request: Request, _client: Client) -> Response:
        current = service.holder.current
        return JSONResponse({
            "status": "ok", "policies": current.summary, "loaded_at": current.loaded_at,
            "last_reload_error": service.holder.last_error,
            "lists": service.holder.list_summary(),
            "ledger": service.ledger is not None,
            "log": service.log.head if service.log is not None else None,
        })

    @_endpoint(service, "metrics", None)
    async def metrics(_request: Request, _client: Client) -> Response:
        return Response(generate_latest(service.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    @_endpoint(service, "openapi", None)
    async def schema(_request: Request, _client: Client) -> Response:
        return JSONResponse(openapi())

    return [
        Route("/v1/decide", decide, methods=["POST"]),
        Route("/v1/attempts", attempts, methods=["POST"]),
        fact("consents", "consent", consent),
        fact("revocations", "revocation", lambda ledger, b: ledger.revoke_consent(
            b["to"], b["at"], b["channel"], b.get("purposes"))),
        fact("opt-outs", "opt_out", lambda ledger, b: ledger.record_opt_out(
            b["to"], b["at"], b["channel"], purposes=b.get("purposes"), seller=b.get("seller"),
            campaign=b.get("campaign"))),
        fact("complaints", "complaint", lambda ledger, b: ledger.record_complaint(
            b["to"], b["at"], b["channel"], details=b.get("details"),
            opt_out=b.get("opt_out", False), purposes=b.get("purposes"))),
        fact("washes", "wash", lambda ledger, b: ledger.record_wash(
            b["list"], b["obtained_at"], b.get("content_hash"))),
        Route("/v1/policies", policies, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", schema, methods=["GET"]),
    ]


async def _http_error(_request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
    return JSONResponse({"error": code, "message": getattr(exc, "detail", "internal error")},
                        status_code=status)


# How often a service with a retention setting purges old attempts (and once at start).
PURGE_EVERY_S = 3600.0


async def _purge_every(service: Service, seconds: float) -> None:
    """Purge attempts past the retention now and then every ``seconds``; errors are logged."""
    import asyncio

    while True:
        try:
            done = await run_in_threadpool(service.need_ledger().purge,
                                           service.config.retention_days)
            logger.info("retention: purged %d attempts older than %s days", done,
                        service.config.retention_days)
        except DATABASE_ERRORS as err:
            logger.error("retention purge failed (will try again): %s", err)
        await asyncio.sleep(seconds)


async def _watch(check: Callable[[], object], seconds: float) -> None:
    """Every ``seconds``, run ``check`` (a look at files that reloads what changed) in a worker
    thread."""
    import asyncio

    while True:
        await asyncio.sleep(seconds)
        await run_in_threadpool(check)


def create_app(config: ServiceConfig) -> Starlette:
    """The ASGI app for ``config`` (policies are loaded and checked here, before serving)."""
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        import asyncio

        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            # only the main thread may take signals; a server run in a thread (tests) does not
            loop.add_signal_handler(signal.SIGHUP,
                                    lambda: loop.run_in_executor(None, service.reload))
        # What was loaded (policies, holidays, zones) lives as long as the process: keep the
        # collector from walking it again on every full collection (those are the tail latency).
        gc.freeze()
        purging = (asyncio.create_task(_purge_every(service, PURGE_EVERY_S))
                   if service.config.retention_days is not None else None)
        config = service.config
        watching = (asyncio.create_task(_watch(service.holder.reload_lists, config.list_check_s))
                    if config.lists and config.list_check_s > 0 else None)
        watching_policies = (
            asyncio.create_task(_watch(service.reload_changed_policies, config.policy_check_s))
            if config.policy_check_s > 0 else None)
        try:
            yield
        finally:
            for task in (purging, watching, watching_policies):
                if task is not None:
                    task.cancel()
            service.close()

    app = Starlette(routes=_routes(service), lifespan=lifespan,
                    exception_handlers={HTTPException: _http_error, Exception: _http_error})
    app.state.service = service
    return app


def configure_logging() -> None:
    """Send the service's own messages (reloads, purges) to stderr beside uvicorn's."""
    service_logger = logging.getLogger("ringfence")
    if not service_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-9s %(message)s"))
        service_logger.addHandler(handler)
        service_logger.setLevel(logging.INFO)


def app_from_env() -> Starlette:
    """App factory for uvicorn's worker processes: the settings come from the environment.

    A worker whose policies fail to load exits; uvicorn's parent then keeps the running workers
    (the replacement on SIGHUP is abandoned).
    """
    configure_logging()
    try:
        return create_app(ServiceConfig.from_env())
    except RingfenceError as err:
        logger.error("this worker does not start: %s", err)
        raise SystemExit(2) from None
