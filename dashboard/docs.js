// Starts Swagger UI on /docs over the service's own OpenAPI document. Every option that would
// reach beyond the service is off: no validator badge (it calls an outside service).
SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  filter: true,
  tryItOutEnabled: true,
  requestSnippetsEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null,
});
