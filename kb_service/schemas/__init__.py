"""API shapes (requests and responses), one module per router in ``kb_service/api/routes/``.

Tables live in ``kb_service/models.py``; these never inherit from them. Each response model
carries its own example (``json_schema_extra``), so the OpenAPI page shows it next to the shape.
Shapes that several routes share live in ``common``.
"""
