"""The daily fleet report: gather one day's figures, word them in Block Kit, draw the chart."""
