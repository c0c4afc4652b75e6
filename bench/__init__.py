"""Benchmarks that print figures for DESIGN.md section 8 (not pass/fail tests); see RESULTS.md."""
