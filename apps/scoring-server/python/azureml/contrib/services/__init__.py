"""Raw HTTP access for entry scripts: @rawhttp, AMLRequest and AMLResponse (Azure ML v1)."""
