"""Tests of the shared Slack outbox parts."""
