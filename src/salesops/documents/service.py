"""Template versions, sandboxed rendering, PDF printing and stored documents."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import Document, DocumentTemplate, User

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")

# One environment for every render: sandboxed (templates are data an admin uploads, so they
# must not reach Python internals), autoescaped (account names are user input), strict (an
# unknown variable is an error, not an empty string in a signed contract).
_ENV = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def template_variables(body: str) -> set[str]:
    """The top-level variables `body` reads (loop variables and `set` names excluded)."""
    return set(meta.find_undeclared_variables(_ENV.parse(body)))


def _check(name: str, body: str, variables: Iterable[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    if not NAME_PATTERN.match(name):
        problems.append(Problem("must be 1-80 lower-case letters, digits, '.', '_' or '-'", "name"))
    try:
        used = template_variables(body)
    except TemplateSyntaxError as exc:
        problems.append(Problem(f"syntax error: {exc.message}", f"{name}: line {exc.lineno}"))
        return problems
    if variables is not None:
        allowed = set(variables)
        for unknown in sorted(used - allowed):
            problems.append(
                Problem(
                    f"unknown variable {unknown!r} (known: {', '.join(sorted(allowed))})",
                    f"{name}: {_line_of(body, unknown)}",
                )
            )
    return problems


def _line_of(body: str, variable: str) -> str:
    pattern = re.compile(rf"\b{re.escape(variable)}\b")
    for number, line in enumerate(body.splitlines(), start=1):
        if pattern.search(line):
            return f"line {number}"
    return "template"


def register_template(
    session: Session,
    name: str,
    body: str,
    *,
    variables: Iterable[str] | None = None,
    by: User | None = None,
) -> DocumentTemplate:
    """Store `body` as the next version of template `name`, or return the current version
    when the body is unchanged; refuse syntax errors and variables outside `variables`."""
    problems = _check(name, body, variables)
    if problems:
        raise ValidationFailed(f"template {name!r} is invalid", problems)
    checksum = _sha256(body.encode())
    current = session.scalars(
        select(DocumentTemplate)
        .where(DocumentTemplate.name == name)
        .order_by(DocumentTemplate.version.desc())
        .limit(1)
    ).first()
    if current is not None and current.checksum == checksum:
        return current
    template = DocumentTemplate(
        name=name,
        version=1 if current is None else current.version + 1,
        body=body,
        checksum=checksum,
        created_by_id=by.id if by else None,
    )
    session.add(template)
    session.flush()
    return template


def latest_template(session: Session, name: str) -> DocumentTemplate:
    """The newest version of template `name`."""
    version = session.scalar(
        select(func.max(DocumentTemplate.version)).where(DocumentTemplate.name == name)
    )
    if version is None:
        raise NotFound(f"document template {name!r} does not exist")
    return get_template(session, name, version)


def get_template(session: Session, name: str, version: int) -> DocumentTemplate:
    """Version `version` of template `name`."""
    template = session.scalar(
        select(DocumentTemplate).where(
            DocumentTemplate.name == name, DocumentTemplate.version == version
        )
    )
    if template is None:
        raise NotFound(f"document template {name!r} has no version {version}")
    return template


def render_html(template: DocumentTemplate, context: Mapping[str, Any]) -> str:
    """Render `template` with `context` in the sandbox; a missing value is a ValidationFailed."""
    where = f"{template.name} v{template.version}"
    try:
        return _ENV.from_string(template.body).render(**context)
    except UndefinedError as exc:
        raise ValidationFailed(
            f"template {where} cannot be rendered", [Problem(exc.message or str(exc), where)]
        ) from exc
    except SecurityError as exc:
        raise ValidationFailed(
            f"template {where} was refused by the sandbox", [Problem(str(exc), where)]
        ) from exc


def html_to_pdf(html: str) -> bytes:
    """Print `html` to PDF bytes with WeasyPrint (imported here: it loads Pango)."""
    import logging

    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # A template must not make the server fetch URLs (server-side request forgery, slow
    # renders, local files): only inline data: URIs are printed, anything else is left out.
    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=False)
    # WeasyPrint logs each refused URL as an error; a left-out image is not one for us.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def generate(
    session: Session,
    template: DocumentTemplate,
    context: Mapping[str, Any],
    *,
    entity: str,
    entity_id: int,
    filename: str | None = None,
    formats: Sequence[str] = ("html", "pdf"),
    by: User | None = None,
) -> list[Document]:
    """Render `template` once and store one document per format, each with its checksum."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValidationFailed(
            "unknown document format", [Problem(f"{f!r} is not one of html, pdf") for f in unknown]
        )
    html = render_html(template, context)
    stem = filename or f"{entity}-{entity_id}-{template.name}-v{template.version}"
    documents = []
    for fmt in formats:
        content = html.encode() if fmt == "html" else html_to_pdf(html)
        document = Document(
            template_id=template.id,
            entity=entity,
            entity_id=entity_id,
            format=fmt,
            media_type=FORMATS[fmt],
            filename=f"{stem}.{fmt}",
            content=content,
            sha256=_sha256(content),
            size=len(content),
            created_by_id=by.id if by else None,
        )
        session.add(document)
        documents.append(document)
    session.flush()
    return documents


def get_document(session: Session, document_id: int) -> Document:
    """One stored document (callers check the caller may see its entity)."""
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"document {document_id} does not exist")
    return document


def documents_for(session: Session, entity: str, entity_id: int) -> list[Document]:
    """The documents generated for one record, newest first."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.entity == entity, Document.entity_id == entity_id)
            .order_by(Document.id.desc())
        )
    )


def verify(document: Document) -> bool:
    """Whether the stored bytes still match the checksum taken when they were generated."""
    return _sha256(document.content) == document.sha256 and len(document.content) == document.size
