"""Import from a file upload: a dry run first, its summary shown, then the same files committed.

Both steps call `ingest.service.run_import`, the service behind `salesops import`: a CSV or
XLSX with a mapping file, or the files of a vendor export (Salesforce, HubSpot, Maven) read
with their built-in mappings. The uploaded files wait in a private directory (named by a
random token and tied to the user who uploaded them) between the dry run and the commit; the
rejected rows of either step download as CSV. Imports are for ops, directors and admins.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.audit import service as audit
from salesops.auth.scoping import PLANNING_ROLES
from salesops.db.types import as_utc
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.ingest.service import DATA_SUFFIXES, run_import
from salesops.ingest.sources import builtin_names
from salesops.ingest.summary import ImportSummary
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)
register(NavItem("Import", "/imports", "upload", 880, frozenset(PLANNING_ROLES)))

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # all files of one upload together
KEEP_SECONDS = 24 * 3600  # an upload not committed within a day is removed
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
CHUNK = 1024 * 1024


def upload_root() -> Path:
    return Path(tempfile.gettempdir()) / "salesops-uploads"


def sources() -> list[tuple[str, str]]:
    vendors = [(name, f"{name.capitalize()} export (built-in mapping)") for name in builtin_names()]
    return [("csv", "CSV or XLSX with a mapping file"), *vendors]


@dataclass(frozen=True)
class Upload:
    """One upload waiting for its commit: where its files are and who may commit them."""

    token: str
    directory: Path
    meta: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        return sorted((self.directory / "files").iterdir())

    @property
    def mapping(self) -> Path | None:
        path = self.directory / "mapping.yaml"
        return path if path.exists() else None

    def rejects(self, step: str) -> Path:
        return self.directory / f"rejects-{step}.csv"


def _require_importer(who: Principal) -> None:
    who.scope.require_role(PLANNING_ROLES, "import data")


def _load(token: str, who: Principal) -> Upload:
    directory = upload_root() / token
    meta_path = directory / "meta.json"
    if not TOKEN.match(token) or not meta_path.exists():
        raise NotFound("this upload does not exist (any more); upload the files again")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("user_id") != who.user.id:
        raise NotFound("this upload does not exist (any more); upload the files again")
    return Upload(token, directory, meta)


async def _save(request: Request, state: forms.FormState) -> Upload | None:
    """Keep the posted files in a fresh private directory; problems go next to the fields."""
    data = await forms.files(request, "files")
    mapping = await forms.files(request, "mapping")
    if not data:
        state.add("files", "choose at least one file")
    for upload in data:
        name = Path(upload.filename or "").name
        if Path(name).suffix.lower() not in DATA_SUFFIXES:
            state.add("files", f"{name}: not a data file ({', '.join(sorted(DATA_SUFFIXES))})")
    if state.values.get("source") == "csv" and not mapping:
        state.add("mapping", "a CSV or XLSX import needs its mapping file (YAML)")
    if not state.ok:
        return None
    _forget_old_uploads()
    token = secrets.token_urlsafe(24)
    directory = upload_root() / token
    (directory / "files").mkdir(parents=True, mode=0o700)
    total = 0
    targets = [(u, directory / "files" / Path(u.filename or "").name) for u in data]
    if mapping:
        targets.append((mapping[0], directory / "mapping.yaml"))
    for upload, target in targets:
        with target.open("wb") as out:
            while chunk := await upload.read(CHUNK):
                total += len(chunk)
                if total > MAX_UPLOAD_BYTES:
                    shutil.rmtree(directory, ignore_errors=True)
                    state.add("files", f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MB")
                    return None
                out.write(chunk)
    return Upload(token, directory, {})


def _forget_old_uploads() -> None:
    """Remove uploads (and their rejects) older than KEEP_SECONDS: dry runs never committed."""
    root = upload_root()
    if not root.exists():
        return
    cutoff = time.time() - KEEP_SECONDS
    for directory in root.iterdir():
        if TOKEN.match(directory.name) and directory.stat().st_mtime < cutoff:
            shutil.rmtree(directory, ignore_errors=True)


def _run(
    session: Session, upload: Upload, *, dry_run: bool, as_of: datetime | None
) -> ImportSummary:
    return run_import(
        session,
        upload.meta["source"],
        upload.files,
        mapping=upload.mapping,
        as_of=as_of,
        rejects=upload.rejects("dry-run" if dry_run else "commit"),
        dry_run=dry_run,
    )


def _page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    form: forms.FormState | None = None,
    summary: ImportSummary | None = None,
    upload: Upload | None = None,
) -> Response:
    form = form or forms.FormState({"source": "csv"})
    context = page_context(request, session, who) | {
        "title": "Import",
        "import_form": form,
        "source_options": sources(),
        "summary": summary,
        "upload": upload,
        "max_mb": MAX_UPLOAD_BYTES // 2**20,
    }
    return templates.TemplateResponse(request, "imports.html", context, status_code=form.status)


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    _require_importer(who)
    return _page(request, session, who)


def _as_of(raw: str, state: forms.FormState) -> datetime | None:
    if not raw:
        return None
    try:
        return as_utc(datetime.fromisoformat(raw))
    except ValueError:
        state.add("as_of", "enter a date and time (YYYY-MM-DDTHH:MM)")
        return None


@router.post("/imports")
async def dry_run(request: Request, session: SessionDep, who: forms.FormUser) -> Response:
    """Step 1: keep the files and run the import as a dry run; show what it would do."""
    _require_importer(who)
    data = await forms.read(request)
    state = forms.FormState({"source": data.get("source", ""), "as_of": data.get("as_of", "")})
    if data.get("source") not in {value for value, _ in sources()}:
        state.add("source", "choose what the files are")
    as_of = _as_of(data.get("as_of", ""), state)
    upload = await _save(request, state) if state.ok else None
    if upload is None:
        return _page(request, session, who, form=state)
    meta = {"user_id": who.user.id, "source": data["source"]}
    saved = Upload(upload.token, upload.directory, meta)
    summary = forms.attempt(
        session,
        state,
        lambda: _run(session, saved, dry_run=True, as_of=as_of),
        fields=("files", "mapping"),
    )
    if summary is None:
        shutil.rmtree(upload.directory, ignore_errors=True)
        return _page(request, session, who, form=state)
    # The commit replays the dry run exactly: same files, mapping and moment.
    meta["as_of"] = summary.as_of.isoformat()
    (upload.directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return _page(request, session, who, form=state, summary=summary, upload=saved)


@router.post("/imports/{token}/commit")
async def commit(
    token: str, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    """Step 2: import the files of a dry run for real, in the request's transaction."""
    _require_importer(who)
    upload = _load(token, who)
    if upload.meta.get("committed"):
        raise ValidationFailed("this upload was imported already", [Problem("committed", token)])
    state = forms.FormState({"source": upload.meta["source"]})
    as_of = datetime.fromisoformat(upload.meta["as_of"])
    summary = forms.attempt(
        session, state, lambda: _run(session, upload, dry_run=False, as_of=as_of)
    )
    if summary is None:
        return _page(request, session, who, form=state)
    audit.record(
        session,
        user_id=who.user.id,
        action="import",
        entity="import",
        entity_id=summary.source_system,
        changes={
            "files": [p.name for p in upload.files],
            "as_of": summary.as_of.isoformat(),
            "tables": {
                name: {k: v for k, v in vars(counts).items() if v}
                for name, counts in summary.tables.items()
            },
            "rejected": summary.rejected,
        },
    )
    upload.meta["committed"] = True
    (upload.directory / "meta.json").write_text(json.dumps(upload.meta), encoding="utf-8")
    shutil.rmtree(upload.directory / "files", ignore_errors=True)
    (upload.directory / "files").mkdir()
    return _page(request, session, who, form=state, summary=summary, upload=upload)


@router.get("/imports/{token}/rejects-{step}.csv")
def rejects(token: str, step: str, session: SessionDep, who: WebUser) -> Response:
    """The rejected rows of a dry run or a commit, with file, line and reason."""
    _require_importer(who)
    upload = _load(token, who)
    if step not in {"dry-run", "commit"} or not upload.rejects(step).exists():
        raise NotFound("no rejected rows to download")
    return FileResponse(
        upload.rejects(step),
        media_type="text/csv; charset=utf-8",
        filename=f"salesops-rejects-{upload.meta['source']}-{step}.csv",
    )


__all__ = ["MAX_UPLOAD_BYTES", "router", "upload_root"]
