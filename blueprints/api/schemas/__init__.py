"""Request and response models of the API (pydantic v2); they are also the OpenAPI document."""
