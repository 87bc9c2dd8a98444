"""HTTP beside and in front of Gradio: the JSON routes, the ASGI gate and its knowledge of
Gradio's events (raw ASGI; none of it imports gradio).
"""
