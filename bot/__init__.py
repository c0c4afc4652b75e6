"""Fleetbot: a Slack bot for the Stellantis Connected Car B2B Web API."""
