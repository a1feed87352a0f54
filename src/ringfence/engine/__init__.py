"""The engine: checked nodes lowered once per load, judged by the reference interpreter (explain,
traces) and by the generated Python function (decide); the next allowed instant; explanations."""
