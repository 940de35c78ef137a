"""Reports: the audit's self-contained HTML report, inline SVG plots, tailored recommendations,
the methodology appendix and PDF / screenshots through headless Chromium.

Nothing heavy is imported here; use the submodules:
:func:`wattwise.report.html.render_report`, :func:`wattwise.report.recommend.recommend`,
:mod:`wattwise.report.svg`, :func:`wattwise.report.browser.print_pdf`.
"""
