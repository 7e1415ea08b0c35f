// Chirper's API reference: Swagger UI on the document this server serves,
// with "Try it out" on, and nothing fetched from anywhere else (no
// validator badge).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/v1/openapi.yaml",
    dom_id: "#ui",
    deepLinking: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    validatorUrl: null,
  });
});
