"""Create the demo's SQLite database on first start: migrate, then a few rows to look at."""

from __future__ import annotations


def prepare() -> None:
    from django.core.management import call_command

    from .models import Author, Comment, Post, Tag

    call_command("migrate", verbosity=0, interactive=False)
    if Author.objects.exists():
        return
    ann, bo = Author.objects.create(name="ann"), Author.objects.create(name="bo")
    orm_, web, ops = (Tag.objects.create(name=n) for n in ("orm", "web", "ops"))
    first = Post.objects.create(title="Schemas without N+1", body="Declare the shape once.", author=ann)
    first.tags.set([orm_, web])
    second = Post.objects.create(title="Six backends, one answer", author=bo)
    second.tags.set([web, ops])
    Post.objects.create(title="Draft", author=bo)
    for n, (post, author) in enumerate([(first, bo), (first, ann), (first, bo), (second, ann)]):
        Comment.objects.create(post=post, author=author, body=f"comment {n + 1}")
