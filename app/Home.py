"""ltp-lens dashboard entry point (placeholder until the pages land)."""

import streamlit as st

st.title("ltp-lens")
st.write("The Learned Token Pruning dashboard is under construction.")
