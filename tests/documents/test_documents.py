"""Documents: versioned templates, sandboxed rendering, PDF printing, stored checksums."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.orm import Session

from salesops import documents
from salesops.errors import NotFound, ValidationFailed
from salesops.models import Document

BODY = "<h1>Contract for {{ account.name }}</h1>\n<p>Total {{ total }}</p>\n"


def test_a_changed_body_is_a_new_version_and_an_unchanged_one_is_not(session: Session) -> None:
    first = documents.register_template(session, "letter", BODY, variables={"account", "total"})
    again = documents.register_template(session, "letter", BODY, variables={"account", "total"})
    second = documents.register_template(session, "letter", BODY + "<p>Signed</p>")
    assert (first.version, again.id, second.version) == (1, first.id, 2)
    assert first.checksum == hashlib.sha256(BODY.encode()).hexdigest()
    assert documents.latest_template(session, "letter").id == second.id
    assert documents.get_template(session, "letter", 1).body == BODY


def test_a_template_with_an_unknown_variable_is_refused_with_its_line(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        documents.register_template(
            session, "bad", "<p>ok</p>\n<p>{{ acount.name }}</p>", variables={"account"}
        )
    assert caught.value.problems[0].location == "bad: line 2"
    assert "unknown variable 'acount'" in caught.value.problems[0].message
    with pytest.raises(NotFound):
        documents.latest_template(session, "bad")


def test_a_syntax_error_is_refused_with_its_line(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="syntax error") as caught:
        documents.register_template(session, "broken", "<p>\n{% if x %}\n</p>")
    assert caught.value.problems[0].location.startswith("broken: line")


def test_rendering_escapes_values_and_the_sandbox_refuses_python_internals(
    session: Session,
) -> None:
    template = documents.register_template(session, "esc", BODY)
    html = documents.render_html(template, {"account": {"name": "<script>x</script>"}, "total": 1})
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    evil = documents.register_template(session, "evil", "{{ x.__class__.__mro__ }}")
    with pytest.raises(ValidationFailed):
        documents.render_html(evil, {"x": 1})


def test_a_value_missing_at_render_time_is_an_error_not_a_blank(session: Session) -> None:
    template = documents.register_template(session, "strict", BODY)
    with pytest.raises(ValidationFailed, match="cannot be rendered"):
        documents.render_html(template, {"account": {}, "total": 3})


def test_generated_documents_are_stored_and_read_back_unchanged(session: Session) -> None:
    template = documents.register_template(session, "contract", BODY)
    html_doc, pdf_doc = documents.generate(
        session,
        template,
        {"account": {"name": "Acme & Co"}, "total": "1,200.00"},
        entity="contract",
        entity_id=7,
    )
    assert html_doc.content.decode().startswith("<h1>Contract for Acme &amp; Co</h1>")
    assert pdf_doc.content.startswith(b"%PDF-")
    assert pdf_doc.filename == "contract-7-contract-v1.pdf"
    session.expunge_all()
    stored = documents.documents_for(session, "contract", 7)
    assert [d.format for d in stored] == ["pdf", "html"]
    for doc in stored:
        assert hashlib.sha256(doc.content).hexdigest() == doc.sha256
        assert documents.verify(doc)
        assert doc.template_id == template.id
    reread = session.get(Document, pdf_doc.id)
    assert reread is not None
    assert reread.content == pdf_doc.content


def test_the_pdf_printer_fetches_nothing_from_outside(session: Session) -> None:
    # A file: URL would put a server file into the document; it must be left out.
    with_file = documents.html_to_pdf('<p>a</p><img src="file:///etc/hostname">')
    without = documents.html_to_pdf("<p>a</p>")
    assert with_file == without
