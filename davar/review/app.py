"""`davar review`: the TA's manual grading in the browser, one manual question at a time across the class.

A Starlette app served by uvicorn, bound to 127.0.0.1 unless `--host` says otherwise.  Security:

- A one-time login token (printed on the terminal) opens a session: an unguessable cookie, HttpOnly and
  SameSite=Strict, and the TA's name for the gradebook.  Without a session every page is 403.
- Every form carries the session's CSRF token, compared in constant time; a POST without it, or whose
  Origin is another site, is 403.
- A student's answer is rendered by `davar.review.render` (sanitized by nh3), and every page is sent
  with a Content-Security-Policy that allows no inline script, no plugin, no frame, and images only from
  the page itself or inline data: an answer's `<script>`, `onerror` or external image neither runs nor loads.

Scores land in the gradebook with who and when (`gradebook.save_manual`: source `review:<name>`), with
optimistic versioning: the form carries the version the TA saw, and a save on an older version is a
conflict shown to the TA, kept in the history and not counted.  The next `davar report` merges them.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from davar import assignment as assignment_mod
from davar import catalogue
from davar.assignment import Assignment, Question, RubricItem
from davar.book import decisions, gradebook, scores
from davar.book.view import view
from davar.errors import DavarError
from davar.intake import inbox
from davar.reporting import report
from davar.review import render

COOKIE = "davar_review"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_STATIC = {"review.js": "text/javascript", "review.css": "text/css"}
_FONTS = ("Vazirmatn-Regular.woff2", "Vazirmatn-Bold.woff2")


@dataclass(slots=True)
class Session:
    ta: str
    lang: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


@dataclass(slots=True, kw_only=True)
class Review:
    """What one running review serves: the assignment, its gradebook, where the notebooks are."""

    assignment: Assignment
    book: Path
    token: str
    lang: str = "fa"
    notebooks: dict[str, dict[str, Path]] = field(default_factory=dict)  # student -> notebook name -> file
    sessions: dict[str, Session] = field(default_factory=dict)

    def manual_questions(self) -> list[Question]:
        return [q for q in self.assignment.questions if q.manual]

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.manual_questions() if q.id == qid), None)

    def students(self) -> list[str]:
        """The gradebook's students, by id (only the one on the page has its result read)."""
        return sorted(gradebook.students(self.book, self.assignment.id))

    @cache  # noqa: B019 - one Review per server, a handful of notebooks
    def template_ids(self, notebook: str) -> frozenset[str]:
        path = self.assignment.reference_dir / f"{Path(notebook).stem}.template.ipynb"
        return frozenset(str(c.get("id", "")) for c in render.read_cells(path))

    def rubric(self, q: Question) -> tuple[RubricItem, ...]:
        """The question's rubric: the latest a TA saved here, else assignment.toml's."""
        saved = gradebook.rubric(self.book, self.assignment.id, q.id)
        return q.rubric if saved is None else saved

    def __hash__(self) -> int:
        return id(self)


def _env() -> Environment:
    return Environment(loader=PackageLoader("davar.review", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


_ENV = _env()


def _page(request: Request, name: str, session: Session | None, lang: str, status: int = 200,
          **values: Any) -> HTMLResponse:
    def t(key: str, **v: Any) -> str:
        return catalogue.text(key, lang, v)

    def number(value: float, kind: str = "points") -> str:
        return catalogue.format_number(value, lang, kind)

    body = _ENV.get_template(name).render(t=t, number=number, lang=lang, dir="rtl" if lang == "fa" else "ltr",
                                          session=session, csrf=session.csrf if session else "", **values)
    return HTMLResponse(body, status_code=status)


def _lang(value: str | None, default: str) -> str:
    return value if value in catalogue.LANGS else default


def rubric_text(items: tuple[RubricItem, ...]) -> str:
    """A rubric as the TA edits it: one item a line, `points | fa | en`."""
    return "\n".join(f"{i.points:g} | {i.text['fa']} | {i.text['en']}" for i in items)


def parse_rubric(text: str) -> tuple[RubricItem, ...] | None:
    """The rubric a TA wrote (`rubric_text`'s form; Persian digits are fine), or None when a line does not fit."""
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        points = scores.parse_points(parts[0]) if len(parts) in (2, 3) else None
        if points is None or not parts[1]:
            return None
        items.append(RubricItem(text={"fa": parts[1], "en": parts[-1] or parts[1]}, points=points))
    return tuple(items)


def create_app(review: Review) -> Starlette:
    """The review app over `review` (tests drive it with Starlette's TestClient)."""

    def session_of(request: Request) -> Session | None:
        sid = request.cookies.get(COOKIE, "")
        return review.sessions.get(sid) if sid else None

    def denied(request: Request, key: str = "review_denied") -> HTMLResponse:
        return _page(request, "denied.html", None, _lang(request.query_params.get("lang"), review.lang), 403,
                     message=key)

    def cross_site(request: Request) -> bool:
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        return origin is not None and origin != own

    async def login(request: Request) -> Response:
        if request.method == "GET":
            token = request.query_params.get("token", "")
            if not hmac.compare_digest(token.encode(), review.token.encode()):
                return denied(request)
            lang = _lang(request.query_params.get("lang"), review.lang)
            return _page(request, "login.html", None, lang, token=token, assignment=review.assignment)
        form = await request.form()
        token, name = str(form.get("token", "")), str(form.get("name", "")).strip()
        if cross_site(request) or not hmac.compare_digest(token.encode(), review.token.encode()):
            return denied(request)
        lang = _lang(str(form.get("lang", "")), review.lang)
        if not name:
            return _page(request, "login.html", None, lang, 400, token=token, assignment=review.assignment,
                         error="review_name_needed")
        sid = secrets.token_urlsafe(32)
        review.sessions[sid] = Session(ta=name[:80], lang=lang)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
        return response

    def guarded(handler: Callable[[Request, Session], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                return denied(request)
            if request.method == "POST":
                form = await request.form()
                sent = str(form.get("csrf", ""))
                if cross_site(request) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                    return denied(request, "review_csrf")
                request.state.form = form
            elif (lang := request.query_params.get("lang")) in catalogue.LANGS:
                session.lang = lang
            result: Response = await handler(request, session)
            return result
        return endpoint

    async def index(request: Request, session: Session) -> Response:
        students = review.students()
        counted = scores.counted(gradebook.manual(review.book, review.assignment.id))
        rows = [(q, sum((s, q.id) in counted for s in students), len(students)) for q in review.manual_questions()]
        return _page(request, "index.html", session, session.lang, assignment=review.assignment, rows=rows)

    async def first(request: Request, session: Session) -> Response:
        q = review.question(request.path_params["question"])
        students = review.students()
        if q is None or not students:
            return _page(request, "denied.html", session, session.lang, 404, message="review_not_found")
        counted = scores.counted(gradebook.manual(review.book, review.assignment.id))
        todo = next((s for s in students if (s, q.id) not in counted), students[0])
        return RedirectResponse(f"/q/{q.id}/{todo}", status_code=303)

    async def grade(request: Request, session: Session) -> Response:
        q = review.question(request.path_params["question"])
        student = request.path_params["student"]
        students = review.students()
        if q is None or student not in students:
            return _page(request, "denied.html", session, session.lang, 404, message="review_not_found")
        if request.method == "POST":
            return save(request, session, q, student, students)
        return question_page(request, session, q, student, students)

    def question_page(request: Request, session: Session, q: Question, student: str,
                      students: list[str], *, status: int = 200, problem: str = "",
                      problem_values: dict[str, Any] | None = None, typed: dict[str, str] | None = None) -> Response:
        a = review.assignment
        manual = gradebook.manual(review.book, a.id)
        counted = scores.counted(manual)
        current = counted.get((student, q.id))
        order = students
        at = order.index(student)
        notebook = review.notebooks.get(student, {}).get(q.notebook)
        cells = render.answer(render.read_cells(notebook), q.cells, set(review.template_ids(q.notebook))) \
            if notebook else []
        record = gradebook.latest_of(review.book, a.id, student)
        assert record is not None  # the student is in the gradebook
        shown = view(record, a, manual, gradebook.overrides(review.book, a.id))
        graded = sum((s, q.id) in counted for s in order)
        history = gradebook.manual_history(review.book, a.id, student, q.id)
        rubric = review.rubric(q)
        return _page(
            request, "question.html", session, session.lang, status, assignment=a, question=q, student=student,
            position=at + 1, total=len(order), graded=graded,
            previous=order[at - 1] if at > 0 else None, next=order[at + 1] if at + 1 < len(order) else None,
            cells=[(c.kind, Markup(c.html), [Markup(o) for o in c.outputs]) for c in cells],  # built by render
            notebook=notebook is not None, current=current,
            version=gradebook.manual_version(review.book, a.id, student, q.id), result=shown,
            history=list(reversed(history)), problem=problem, problem_values=problem_values or {},
            typed=typed or {}, rubric=rubric, rubric_text=rubric_text(rubric),
            when=lambda value: report.format_timestamp(value, session.lang, ZoneInfo(a.timezone)))

    def save(request: Request, session: Session, q: Question, student: str,
             students: list[str]) -> Response:
        form = request.state.form
        typed = {k: str(form.get(k, "")) for k in ("points", "comment", "lang", "version", "test", "reason")}
        if form.get("action") == "override":
            return override(request, session, q, student, students, typed)
        if form.get("action") == "rubric":
            items = parse_rubric(str(form.get("rubric", "")))
            if items is None:
                return question_page(request, session, q, student, students, status=400,
                                     problem="review_rubric_invalid")
            gradebook.add_rubric(review.book, review.assignment.id, q.id, items, session.ta)
            return RedirectResponse(f"/q/{q.id}/{student}", status_code=303)
        points = scores.parse_points(typed["points"])
        if points is None or not 0 <= points <= q.points:
            return question_page(request, session, q, student, students, status=400, problem="review_points_invalid",
                                 problem_values={"max": q.points}, typed=typed)
        lang = typed["lang"] if typed["lang"] in catalogue.LANGS else ""
        try:
            version = int(typed["version"] or "0")
        except ValueError:
            version = -1
        score = scores.ManualScore(student=student, question=q.id, points=points, comment=typed["comment"].strip(),
                                   lang=lang, imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
                                   source=f"review:{session.ta}")
        stored, _ = gradebook.save_manual(review.book, review.assignment.id, score, version=version)
        if not stored:
            return question_page(request, session, q, student, students, status=409, problem="review_conflict",
                                 typed={})
        order = students
        at = order.index(student)
        go = order[at + 1] if form.get("next") and at + 1 < len(order) else student
        return RedirectResponse(f"/q/{q.id}/{go}?saved={student}", status_code=303)

    def override(request: Request, session: Session, q: Question, student: str,
                 students: list[str], typed: dict[str, str]) -> Response:
        try:
            decisions.override_test(book=review.book, assignment=review.assignment.id, student=student,
                                    test=typed["test"], points=typed["points"], reason=typed["reason"], by=session.ta)
        except DavarError as e:
            return question_page(request, session, q, student, students, status=400, problem="review_override_refused",
                                 problem_values={"error": e.text(session.lang)}, typed={})
        return RedirectResponse(f"/q/{q.id}/{student}", status_code=303)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name in _STATIC:
            data = resources.files("davar.review").joinpath("static", name).read_bytes()
            if name == "review.css":
                data += render.code_css().encode()
            return Response(data, media_type=_STATIC[name])
        if name in _FONTS:
            data = resources.files("davar.reporting").joinpath("templates", "fonts", name).read_bytes()
            return Response(data, media_type="font/woff2")
        return Response(status_code=404)

    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/static/{name}", static),
        Route("/", guarded(index)),
        Route("/q/{question}", guarded(first)),
        Route("/q/{question}/{student}", guarded(grade), methods=["GET", "POST"]),
    ]
    async def headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer makes a POST's Origin "null"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    app = Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=headers)])
    return app


def prepare(*, assignment: str | Path | Assignment, out: Path, submissions: Path | None = None, lang: str = "fa",
            token: str | None = None) -> Review:
    """The review of `assignment` (an Assignment, its folder or its id) over its gradebook under `out` (refused
    when there is none), with the students' notebooks found under `submissions` (the folder `davar grade` read)."""
    if not isinstance(assignment, Assignment):
        assignment = assignment_mod.find(assignment)
    book = out / assignment.id / "gradebook.sqlite"
    if not book.is_file():
        raise DavarError("report_no_gradebook", path=str(book), assignment=assignment.id)
    notebooks = {s.student: dict(s.notebooks) for s in inbox.collect(submissions, assignment)} if submissions else {}
    return Review(assignment=assignment, book=book, token=token or secrets.token_urlsafe(24), lang=lang,
                  notebooks=notebooks)


def serve(review: Review, *, host: str = "127.0.0.1", port: int = 8765,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve `review` with uvicorn until interrupted; `on_ready` gets the login URL (with the token)."""
    import uvicorn

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # a name to print, not a bind
    if on_ready:
        on_ready(f"http://{shown}:{port}/login?token={review.token}")
    uvicorn.run(create_app(review), host=host, port=port, log_level="warning")
