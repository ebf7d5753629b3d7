"""The OpenAPI schema is valid, and errors are JSON with a message a person can act on."""

import pytest
from openapi_spec_validator import validate


@pytest.mark.slow
def test_openapi_schema_is_valid_and_lists_every_resource(client):
    schema = client.get("/openapi.json").json()
    validate(schema)
    paths = set(schema["paths"])
    for expected in ("/api/health", "/api/uploads", "/api/threads/{thread_id}", "/api/jobs/{job_id}/stream",
                     "/api/jobs/{job_id}/lora", "/api/studio/generate", "/api/loras"):
        assert expected in paths
    assert "multipart/form-data" in schema["paths"]["/api/uploads"]["post"]["requestBody"]["content"]


def test_bad_request_body_is_a_json_error_naming_the_field(client):
    response = client.post("/api/studio/generate", json={"prompt": ""})
    assert response.status_code == 422
    assert "prompt" in response.json()["error"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/does/not/exist")
    assert response.status_code == 404 and response.json()["error"]


def test_upload_without_multipart_is_a_json_400(client):
    response = client.post("/api/uploads", content=b"hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400 and "multipart" in response.json()["error"]
