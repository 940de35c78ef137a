"""Reports: the audit's self-contained HTML report, inline SVG plots, tailored recommendations,
the methodology appendix and PDF / screenshots through headless Chromium.

Nothing heavy is imported here; use the submodules: :func:`wattwise.report.html.render_report`
(page), :mod:`~wattwise.report.measured` and :mod:`~wattwise.report.reduce` (its sections),
:mod:`~wattwise.report.markup` and :mod:`~wattwise.report.style` (building blocks, CSS),
:mod:`wattwise.report.svg` (every chart; text layout in :mod:`~wattwise.report.chartlayout`),
:func:`wattwise.report.recommend.recommend` (rules; savings combined in
:mod:`~wattwise.report.savings`), :func:`wattwise.report.browser.print_pdf`.
"""
