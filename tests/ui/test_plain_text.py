"""User text is shown as text: Markdown images, links and directives in an expression or a name
load nothing (AppTest renders the overview's Next up and the sidebar with hostile text)."""

from __future__ import annotations

from ui.plain import md

TRACKER = "![t](http://host/track.png)"


def test_md_escapes_images_links_and_directives():
    assert md(TRACKER) == r"\!\[t\]\(http\://host/track\.png\)"
    assert md(":red[boo] *x* $y$") == r"\:red\[boo\] \*x\* \$y\$"
    assert md("a\nb") == "a b"


def test_next_up_and_sidebar_show_hostile_text_escaped(app, demo_project):
    group = demo_project.store.list_groups()[0]
    demo_project.store.add_expression(group.id, f"the dog {TRACKER}")
    for e in demo_project.store.list_expressions(group.id):
        if TRACKER not in e.text:
            demo_project.store.edit_expression(e.id, f"{e.text} {TRACKER}", "ann")
    app.query_params["session"] = demo_project.store.local_token(f"eve {TRACKER}")
    app.run()
    assert not app.exception
    bodies = [m.value for m in app.markdown]
    next_up = [b for b in bodies if "Next up" in b]
    assert next_up and all("](http" not in b for b in next_up)
    assert r"\!\[t\]\(http\://host/track\.png\)" in next_up[0]
    assert f"Signed in as eve {TRACKER}" in [t.value for t in app.text]
