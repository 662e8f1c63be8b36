"""Rendering events: sandboxed Jinja2, HTML autoescaped, strict about required variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrelay_cli.errors import ConfigError, DataError
from mailrelay_cli.outbound import templating as rendering
from mailrelay_cli.outbound.events import get_event

FULL = {
    "instance_name": "Release 2.4",
    "project": "webshop",
    "environment": "production",
    "url": "https://release.example.com/r/42",
    "requested_by": "Alice",
}


@pytest.mark.parametrize("name", ["test", "request-completed", "request-failed"])
def test_each_built_in_event_renders_subject_text_and_html(name: str) -> None:
    rendered = rendering.render_event(get_event(name), FULL)
    assert "Release 2.4" in rendered.subject
    assert "Release 2.4" in rendered.text
    assert rendered.html is not None and "Release 2.4" in rendered.html
    assert "https://release.example.com/r/42" in rendered.text
    assert 'href="https://release.example.com/r/42"' in rendered.html


@pytest.mark.parametrize("name", ["test", "request-completed", "request-failed"])
def test_html_uses_inline_styles_and_no_external_resources(name: str) -> None:
    html = rendering.render_event(get_event(name), FULL).html or ""
    assert "<style" not in html and "<link" not in html and "<img" not in html
    assert 'style="' in html


def test_the_failed_event_names_the_failed_step_and_error() -> None:
    rendered = rendering.render_event(
        get_event("request-failed"), {**FULL, "failed_step": "3 Deploy", "error": "db timeout"}
    )
    assert rendered.subject == "[webshop] FAILED: Release 2.4 (production) at 3 Deploy"
    assert "db timeout" in rendered.text and "db timeout" in (rendered.html or "")


def test_variables_are_escaped_in_html_but_not_in_text() -> None:
    rendered = rendering.render_event(
        get_event("request-failed"), {"instance_name": "<script>alert(1)</script> & co"}
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in (rendered.html or "")
    assert "<script>" not in (rendered.html or "")
    assert "<script>alert(1)</script> & co" in rendered.text


@pytest.mark.parametrize("name", ["request-completed", "request-failed"])
def test_a_missing_required_variable_is_bad_input_naming_it(name: str) -> None:
    with pytest.raises(DataError, match="requires the variable instance_name") as caught:
        rendering.render_event(get_event(name), {"project": "webshop"})
    assert caught.value.exit_code == 65
    assert "--var instance_name=" in (caught.value.hint or "")


def test_an_empty_required_variable_counts_as_missing() -> None:
    with pytest.raises(DataError, match="instance_name, which is empty"):
        rendering.render_event(get_event("request-failed"), {"instance_name": "  "})


def test_optional_variables_left_out_render_empty() -> None:
    rendered = rendering.render_event(get_event("test"), {})
    assert rendered.subject == "[mailrelay] Test notification"
    assert "Project" not in rendered.text


def test_a_line_break_reaching_the_subject_is_rejected_naming_the_variable() -> None:
    with pytest.raises(DataError, match=r"line break \(from instance_name\)"):
        rendering.render_event(get_event("request-failed"), {"instance_name": "R\r\nBcc: victim@example.com"})


def test_a_line_break_in_a_body_only_variable_is_fine() -> None:
    rendered = rendering.render_event(
        get_event("request-failed"), {"instance_name": "R", "error": "line 1\nline 2"}
    )
    assert "line 1\nline 2" in rendered.text


def test_the_payload_logs_list_renders_as_steps() -> None:
    logs = [
        {"step": 1, "step_name": "Build", "endpoint": "ci-1", "failed": False},
        {"step": 2, "step_name": "Deploy", "endpoint": "web-1", "failed": True},
    ]
    rendered = rendering.render_event(get_event("request-failed"), {"instance_name": "R", "logs": logs})
    assert "2 Deploy on web-1 (FAILED)" in rendered.text


def test_a_user_template_overrides_the_built_in_one(tmp_path: Path) -> None:
    (tmp_path / "request-failed.subject").write_text("BROKEN {{ instance_name }}\n")
    rendered = rendering.render_event(get_event("request-failed", tmp_path), {"instance_name": "R"}, tmp_path)
    assert rendered.subject == "BROKEN R"
    assert "R FAILED." in rendered.text  # the built-in text part still applies


def test_the_sandbox_stops_a_template_reaching_python_internals(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(ConfigError, match="sandbox"):
        rendering.render_event(get_event("test", tmp_path), {}, tmp_path)


def test_a_template_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_text("fine\n{% if %}\n")
    with pytest.raises(ConfigError, match=r"test.txt:2") as caught:
        rendering.render_event(get_event("test", tmp_path), {}, tmp_path)
    assert caught.value.exit_code == 78


def test_a_variable_only_a_user_template_uses_is_optional(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_text("ticket: [{{ ticket }}]\n")
    rendered = rendering.render_event(get_event("test", tmp_path), {}, tmp_path)
    assert rendered.text == "ticket: []\n"


def test_a_missing_attribute_is_bad_input_naming_it(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_text("{{ build.number }}\n")
    with pytest.raises(DataError, match="number"):
        rendering.render_event(get_event("test", tmp_path), {"build": {"id": 1}}, tmp_path)


def test_describe_lists_required_variables_first_and_renders_a_sample() -> None:
    info = rendering.describe_event("request-failed")
    assert info.variables[0].name == "instance_name" and info.variables[0].required
    names = [v.name for v in info.variables]
    assert {"project", "environment", "url", "requested_by", "failed_step", "error"} <= set(names)
    assert not any(v.required for v in info.variables[1:])
    assert "Release 2.4.1" in info.subject
    assert info.html is not None and "Deploy database" in info.html


def test_a_template_computing_with_the_wrong_kind_of_value_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "test.txt").write_text("{% if count > 1 %}many{% endif %}\n")
    with pytest.raises(DataError, match=r"test.txt failed: TypeError") as caught:
        rendering.render_event(get_event("test", tmp_path), {"count": "3"}, tmp_path)
    assert caught.value.exit_code == 65


# --- compiled-template cache ---------------------------------------------------------------


def _cache_files(home: Path) -> list[Path]:
    directory = home / ".cache" / "mailrelay" / "templates"
    return sorted(directory.glob("*.cache")) if directory.is_dir() else []


def test_compiled_templates_are_cached_in_a_private_dir_and_used_next_time(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rendering.render_event(get_event("test"), FULL)
    files = _cache_files(isolated_env)
    assert len(files) == 4  # subject, txt, html and the layout the html extends
    assert (files[0].parent.stat().st_mode & 0o777) == 0o700

    from jinja2.sandbox import SandboxedEnvironment

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although the cache holds the template")

    monkeypatch.setattr(SandboxedEnvironment, "compile", no_compiling)
    assert rendering.render_event(get_event("test"), FULL) == first


def test_the_cache_dir_comes_from_mailrelay_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILRELAY_CACHE_DIR", str(tmp_path / "elsewhere"))
    rendering.render_event(get_event("test"), FULL)
    assert len(list((tmp_path / "elsewhere" / "templates").glob("*.cache"))) == 4


def test_a_cache_dir_that_cannot_be_created_only_means_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MAILRELAY_CACHE_DIR", str(blocker))
    rendered = rendering.render_event(get_event("test"), FULL)
    assert "Release 2.4" in rendered.text


def test_a_cache_that_cannot_be_written_only_means_compiling(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2.bccache

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", refuse)
    rendered = rendering.render_event(get_event("test"), FULL)
    assert "Release 2.4" in rendered.text
    assert _cache_files(isolated_env) == []


def test_a_damaged_cache_file_is_compiled_again(isolated_env: Path) -> None:
    first = rendering.render_event(get_event("test"), FULL)
    for path in _cache_files(isolated_env):
        path.write_bytes(path.read_bytes()[:40])
    assert rendering.render_event(get_event("test"), FULL) == first


def test_a_cache_dir_others_can_write_to_is_not_used(isolated_env: Path) -> None:
    directory = isolated_env / ".cache" / "mailrelay" / "templates"
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    rendering.render_event(get_event("test"), FULL)
    assert _cache_files(isolated_env) == []
