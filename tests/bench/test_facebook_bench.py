"""The Facebook request benchmark at a size a test can afford: the real connector against the fake Graph."""

from __future__ import annotations

import re

import pytest

from bench import facebook_bench


def test_a_full_run_reads_comments_nested_in_the_posts_pages_within_the_floor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    graph = facebook_bench.FakeGraph(pages=8, seed=3)
    with facebook_bench.serving(graph):
        made, predicted = facebook_bench.full_run(graph)
    posts = sum(len(p.posts) + len(p.visitor_posts) for p in graph.pages.values())
    busy = [p for p in graph.posts.values() if len(p.comments) > facebook_bench.PAGE_SIZE]

    # One comments request per post before; now only for posts with more comments than a posts answer nests.
    assert made["GET /{post-id}/comments"] <= sum(-(-len(p.stream()) // 100) for p in busy) < posts
    assert sum(made.values()) <= 1.1 * sum(facebook_bench.floor(graph).values())
    assert {k: v for k, v in predicted.items() if k != "GET /{post-id}/comments"} == {
        k: v for k, v in made.items() if k != "GET /{post-id}/comments"
    }

    facebook_bench.main(["--pages", "4", "--seed", "5"])
    assert re.search(
        r"facebook full run requests <= 1\.1 x floor: [\d,]+ / [\d,]+ = 1\.\d{3}  PASS", capsys.readouterr().out
    )
