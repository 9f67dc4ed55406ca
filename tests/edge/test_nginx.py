"""The harness itself: the template's rendering, and nginx missing under CI."""

from __future__ import annotations

import pytest

from tests.edge import nginx


def test_render_replaces_only_the_templates_variables():
    text = "listen ${SKP_EDGE_PORT} ssl; key $ssl_client_fingerprint; ${SKP_EDGE_PORT}"
    assert nginx.render(text, {"SKP_EDGE_PORT": "1"}) == (
        "listen 1 ssl; key $ssl_client_fingerprint; 1")
    with pytest.raises(AssertionError, match="SKP_EDGE_HUB"):
        nginx.render("server ${SKP_EDGE_HUB};", {})


def test_without_nginx_the_tests_fail_under_ci_and_skip_elsewhere(monkeypatch):
    monkeypatch.setattr(nginx.shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        nginx.nginx_binary()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        nginx.nginx_binary()
