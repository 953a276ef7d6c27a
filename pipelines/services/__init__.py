"""What the app runs on: background jobs, model jobs, the demo project, the Streamlit server command."""
