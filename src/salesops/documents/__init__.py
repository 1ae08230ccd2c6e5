"""Documents: versioned Jinja2 templates rendered to HTML and PDF, stored byte for byte.

The public API (stable; contracts, quota letters and comp statements use it):

- `register_template(session, name, body, variables=...)` stores a new version of a template
  when its body changed (and returns the current one when it did not), refusing a syntax
  error or a variable outside `variables` with one `ValidationFailed` naming each problem.
- `latest_template(session, name)` / `get_template(session, name, version)`.
- `render_html(template, context)` renders in a sandbox with autoescaping; a variable or
  attribute missing at render time is a `ValidationFailed`, never a blank in a contract.
- `html_to_pdf(html)` prints HTML with WeasyPrint, fetching nothing from the network.
- `generate(session, template, context, entity=..., entity_id=..., formats=("html", "pdf"))`
  renders and stores `Document` rows, each with its template version and SHA-256 checksum.
- `get_document`, `documents_for(session, entity, entity_id)`, `verify(document)`.
"""

from salesops.documents.service import (
    FORMATS,
    documents_for,
    generate,
    get_document,
    get_template,
    html_to_pdf,
    latest_template,
    register_template,
    render_html,
    template_variables,
    verify,
)

__all__ = [
    "FORMATS",
    "documents_for",
    "generate",
    "get_document",
    "get_template",
    "html_to_pdf",
    "latest_template",
    "register_template",
    "render_html",
    "template_variables",
    "verify",
]
