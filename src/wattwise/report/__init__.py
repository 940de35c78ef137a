"""Reports: the self-contained HTML report of an audit or of any stored run, inline SVG plots,
tailored recommendations, the methodology appendix, run exports and PDF / screenshots through
headless Chromium.

Nothing heavy is imported here (jinja2 only when a report is rendered); use the submodules:
:func:`wattwise.report.html.render_report` (page), :mod:`~wattwise.report.measured` and
:mod:`~wattwise.report.reduce` (its sections), :mod:`~wattwise.report.templating` (the Jinja2
environment, autoescape on; templates in ``templates/``), :mod:`~wattwise.report.markup` and
:mod:`~wattwise.report.style` (numbers for people, badges, CSS), :mod:`wattwise.report.svg`
(every chart; text layout in :mod:`~wattwise.report.chartlayout`),
:func:`wattwise.report.rundoc.render_run_report` (a plain run's report),
:mod:`~wattwise.report.runexport` (``runs export``), :func:`wattwise.report.recommend.recommend`
(rules; savings combined in :mod:`~wattwise.report.savings`),
:func:`wattwise.report.browser.print_pdf`.
"""
