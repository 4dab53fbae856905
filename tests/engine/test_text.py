"""Word-level likeness: tasks of one kind are alike whatever their numbers."""

from __future__ import annotations

from purpose_desktop.engine.text import kind_similarity, similarity, without_numbers

CRATES = "A crate holds 24 apples. How many apples are in 17 crates?"


def test_tasks_of_one_kind_are_alike_whatever_their_numbers() -> None:
    other = "A crate holds 30 apples. How many apples are in 12 crates?"
    assert kind_similarity(CRATES, other) == 1.0
    assert similarity(CRATES, other) == 5 / 9  # the numbers count as words there
    assert kind_similarity(CRATES, without_numbers(CRATES)) == 1.0
    assert without_numbers("17 * 23 = 391.5, or 1,250") == "# * # = #, or #"


def test_tasks_that_share_only_numbers_are_not_alike() -> None:
    assert kind_similarity(CRATES, "Write a poem about 24 and 17") == 0.0
    assert similarity(CRATES, "Write a poem about 24 and 17") == 0.2


def test_a_task_of_numbers_alone_is_alike_in_shape() -> None:
    assert kind_similarity("What is 17 * 23?", "What is # * #?") == 1.0
    assert kind_similarity("What is 17 * 23?", "what is 4 * 5") == 1.0
    assert kind_similarity("What is 17 * 23?", "What is 17 + 23?") == 1.0  # the same numbers
    assert kind_similarity("What is 17 * 23?", "What is 4 + 5?") == 0.0


def test_paths_and_file_names_are_values_not_the_kind_of_a_task() -> None:
    made = "Make the folder /tmp/jr/docs/reports."
    assert kind_similarity("Create /tmp/jr/docs/todo.txt containing buy milk", made) == 0.0
    assert kind_similarity("Make the folder ~/notes/old.", made) == 1.0
    assert kind_similarity("Read notes.txt aloud", "Read plan.md aloud") == 1.0
    # Words joined by a slash are words, not a path.
    assert kind_similarity("Describe client/server apps", "Describe server apps") == 0.75
