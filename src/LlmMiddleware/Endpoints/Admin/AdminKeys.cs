using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmMiddleware.Endpoints.Admin;

/// <summary>
/// <c>/keys</c>: issue (<c>POST</c>, the secret in the answer and nowhere else), list, read, rotate (<c>POST
/// /keys/{id}/rotate?graceSeconds=</c>) and revoke (<c>POST /keys/{id}/revoke</c> or <c>DELETE /keys/{id}</c>).
/// </summary>
internal static class AdminKeys
{
    private const string EnabledBy = "AddVirtualKeys()";

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapPost("/keys", async (HttpContext http) =>
        {
            if (AdminJson.Service<LlmVirtualKeys>(http, EnabledBy, out var missing) is not { } keys)
            {
                return missing!;
            }

            var (template, invalid) = await AdminJson.ReadAsync<LlmVirtualKey>(http.Request).ConfigureAwait(false);
            if (template is null)
            {
                return invalid!;
            }

            try
            {
                return AdminJson.Ok(await keys.CreateAsync(template, http.RequestAborted).ConfigureAwait(false), StatusCodes.Status201Created);
            }
            catch (ArgumentException ex)
            {
                return AdminJson.Error(400, ex.Message);
            }
            catch (InvalidOperationException ex)
            {
                return AdminJson.Error(409, ex.Message);
            }
        });
        admin.MapGet("/keys", (HttpContext http) => AdminJson.Service<LlmVirtualKeys>(http, EnabledBy, out var missing) is { } keys ? AdminJson.Ok(keys.List()) : missing!);
        admin.MapGet("/keys/{id}", (HttpContext http, string id) => AdminJson.Service<LlmVirtualKeys>(http, EnabledBy, out var missing) is not { } keys ? missing!
            : keys.Find(id) is { } key ? AdminJson.Ok(key) : AdminJson.Error(404, $"No key '{id}'."));
        admin.MapPost("/keys/{id}/rotate", async (HttpContext http, string id, double? graceSeconds) =>
        {
            if (AdminJson.Service<LlmVirtualKeys>(http, EnabledBy, out var missing) is not { } keys)
            {
                return missing!;
            }

            if (graceSeconds is < 0 or > 365 * 86400 || double.IsNaN(graceSeconds ?? 0))
            {
                return AdminJson.Error(400, "graceSeconds must be between 0 and a year.");
            }

            try
            {
                return AdminJson.Ok(await keys.RotateAsync(id, graceSeconds is { } s ? TimeSpan.FromSeconds(s) : null, http.RequestAborted).ConfigureAwait(false));
            }
            catch (KeyNotFoundException ex)
            {
                return AdminJson.Error(404, ex.Message);
            }
        });
        admin.MapPost("/keys/{id}/revoke", (HttpContext http, string id) => RevokeAsync(http, id));
        admin.MapDelete("/keys/{id}", (HttpContext http, string id) => RevokeAsync(http, id));
    }

    private static async Task<IResult> RevokeAsync(HttpContext http, string id) =>
        AdminJson.Service<LlmVirtualKeys>(http, EnabledBy, out var missing) is not { } keys ? missing!
            : await keys.RevokeAsync(id, http.RequestAborted).ConfigureAwait(false) ? AdminJson.Ok(keys.Find(id)) : AdminJson.Error(404, $"No key '{id}'.");
}
