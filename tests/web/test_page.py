"""The page is self-contained: nothing is fetched from another site, and it runs only its own modules."""

import re

from web.app import STATIC_DIR


def test_static_files_reference_nothing_off_site():
    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        assert not re.search(r"(?:src|href|import|from|url)\s*\(?\s*['\"]?(?:https?:)?//", text), path.name
        assert "cdn" not in text.lower(), path.name


def test_index_is_served_with_a_same_origin_content_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and '<script type="module" src="/static/app.js">' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    for name in ("app.js", "api.js", "chat.js", "cards.js", "chart.js", "studio.js", "app.css"):
        assert client.get(f"/static/{name}").status_code == 200, name
