"""Stage 1, reading: an XLSX, CSV or JSON file becomes a `Sheet` of cells as the person saw them
(the workbook guard first; Excel's view of dates, numbers, merged blocks and links; code pages)."""
