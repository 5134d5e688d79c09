"""A local simulator of the GitHub, PagerDuty and Zendesk APIs with known ground truth."""
