"""What alerts/ and reports/ share to post exactly once: the Slack port and the reconcile rules."""
