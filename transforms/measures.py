"""The headline measures of report_summary: the names the format files' `summary:` sections may
declare (transforms/formats.py checks them) and the registry publishes (transforms/schema.py)."""
from __future__ import annotations

# Headline measures of report_summary, each the sum of the cells the format files declare for it
# (`summary:` in transforms/formats/*.yaml, per format: the same measure in both formats).
SUMMARY_MEASURES = (
    ("new_applications", "一、本年新收政府信息公开申请数量, 总计 column."),
    ("carried_over", "二、上年结转政府信息公开申请数量, 总计 column."),
    ("granted", "三（一）予以公开, 总计 column."),
    ("partially_granted", "三（二）部分公开, 总计 column."),
    ("withheld", "三（三）不予公开, 1–8 summed, 总计 column."),
    ("unavailable", "三（四）无法提供, 1–3 summed, 总计 column."),
    ("not_processed", "三（五）不予处理, 1–5 summed, 总计 column."),
    ("other_handling", "三（六）其他处理, 总计 column: the 2019 row, or the 2021 rows 1–3 summed."),
    ("total_handled", "三（七）总计 as printed, 总计 column."),
    ("carried_forward", "四、结转下年度继续办理, 总计 column."),
    ("review_total", "Table 四 行政复议 总计."),
    ("review_upheld", "Table 四 行政复议 结果维持."),
    ("review_corrected", "Table 四 行政复议 结果纠正."),
    ("review_other_result", "Table 四 行政复议 其他结果."),
    ("review_pending", "Table 四 行政复议 尚未审结."),
    ("litigation_total", "Table 四 行政诉讼 总计 (未经复议直接起诉 + 复议后起诉)."),
    ("litigation_upheld", "Table 四 行政诉讼 结果维持 (both kinds summed)."),
    ("litigation_corrected", "Table 四 行政诉讼 结果纠正 (both kinds summed)."),
    ("litigation_other_result", "Table 四 行政诉讼 其他结果 (both kinds summed)."),
    ("litigation_pending", "Table 四 行政诉讼 尚未审结 (both kinds summed)."),
    ("licensing_decisions", "Table 二 行政许可 处理决定数量 (2019) / 本年处理决定数量 (2021)."),
    ("penalty_decisions", "Table 二 行政处罚 处理决定数量 (2019) / 本年处理决定数量 (2021)."),
    ("enforcement_decisions", "Table 二 行政强制 处理决定数量 (2019) / 本年处理决定数量 (2021)."),
    ("fees_wan_yuan", "Table 二 行政事业性收费 本年收费金额 in 万元 (2021 format; the 2019 format counts fee items, "
     "so null there)."),
)
