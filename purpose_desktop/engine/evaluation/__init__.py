"""Evaluation: benchmark suites whose outcomes are checked, not judged by the critic, and the
runner that measures how a team improves over repeated runs of one."""
