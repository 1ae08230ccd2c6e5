"""The server-rendered dashboard (Jinja2 + htmx + Plotly, all assets vendored)."""
