using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// HTTP Basic for the xAPI statement resource, what LMS plugins send (xAPI 1.0.3, Communication part, 4.1 allows it):
/// an administrator issues a key and secret per source; the key authenticates as a feed (the role a feed's bearer
/// token carries), named after its source, and its statements are recorded under that source. Bearer tokens keep
/// working on the same routes; Basic opens nothing else.
/// </summary>
public static class XapiBasic
{
    public const string Scheme = "xapi-basic";

    /// <summary>The statement routes' policy: a feed or an administrator, by bearer token or by an issued key.</summary>
    public const string Policy = "xapi-feeds";

    /// <summary>The claim that carries the key's source.</summary>
    public const string SourceClaim = "beacon_source";

    public static IHostApplicationBuilder AddXapiBasic(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, XapiBasicHandler>(Scheme, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy(Policy, p => p
            .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme, Scheme)
            .RequireRole(Roles.Feed, Roles.Administrator));
        return builder;
    }

    public sealed record IssueRequest(string? Source);
    public sealed record Issued(string Key, string Secret, string Source, DateTimeOffset CreatedAt);
    public sealed record CredentialView(string Key, string Source, DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? RevokedAt);

    public static IEndpointRouteBuilder MapXapiCredentialsApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/ingestion/v1/xapi").RequireAuthorization(Policies.Administrators).WithTags("xAPI");
        admin.MapPost("/credentials", IssueAsync).WithName("XapiIssueCredential")
            .WithSummary("Issue a key and secret for one source's HTTP Basic xAPI credentials (the secret is shown only in this answer)")
            .Produces<Issued>(StatusCodes.Status201Created);
        admin.MapGet("/credentials", async (IngestionDbContext db, CancellationToken ct) =>
                Results.Ok((await db.XapiCredentials.AsNoTracking().OrderBy(c => c.Key).ToListAsync(ct))
                    .Select(c => new CredentialView(c.Key, c.Source, c.CreatedAt, c.CreatedBy, c.RevokedAt))))
            .WithName("XapiListCredentials").WithSummary("The issued keys (never their secrets)").Produces<List<CredentialView>>();
        admin.MapDelete("/credentials/{key}", async (string key, IngestionDbContext db, TimeProvider clock, CancellationToken ct) =>
                await db.XapiCredentials.Where(c => c.Key == key && c.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(c => c.RevokedAt, clock.GetUtcNow()), ct) == 1
                    ? Results.NoContent()
                    : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such key", detail: $"'{Rules.Show(key)}' is not an issued key, or it is revoked already."))
            .WithName("XapiRevokeCredential").WithSummary("Revoke a key: its credentials authenticate nothing from now on").ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> IssueAsync(IssueRequest? body, IngestionDbContext db, TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        var source = body?.Source?.Trim();
        if (string.IsNullOrEmpty(source) || source.Length > Rules.MaxIdLength || source.Any(char.IsControl))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["source"] = [$"is required: the learning tool's name, at most {Rules.MaxIdLength} characters."] },
                title: "Invalid source; nothing was issued");
        }
        var key = "xk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var credential = new XapiCredential
        {
            Key = key,
            Source = source,
            SecretSha256 = Hash(secret),
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = http.User.FindFirst(BeaconClaims.Subject)?.Value,
        };
        db.XapiCredentials.Add(credential);
        await db.SaveChangesAsync(ct);
        return Results.Created($"/api/ingestion/v1/xapi/credentials/{key}", new Issued(key, secret, source, credential.CreatedAt));
    }

    internal static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Checks <c>Authorization: Basic key:secret</c> against the issued keys; a wrong one is a 401 with <c>WWW-Authenticate: Basic</c>.</summary>
public sealed class XapiBasicHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        string key, secret;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())).Split(':', 2);
            if (pair.Length != 2 || pair[0].Length is 0 or > 64)
            {
                return AuthenticateResult.Fail("Basic credentials are key:secret.");
            }
            (key, secret) = (pair[0], pair[1]);
        }
        catch (FormatException)
        {
            return AuthenticateResult.Fail("Basic credentials are not base64.");
        }
        var db = Context.RequestServices.GetRequiredService<IngestionDbContext>();
        var credential = await db.XapiCredentials.AsNoTracking().FirstOrDefaultAsync(c => c.Key == key, Context.RequestAborted);
        // Compared in constant time, and a hash compared even for an unknown key, so timing tells nothing about which keys exist.
        var expected = Convert.FromHexString(credential?.SecretSha256 ?? new string('0', 64));
        var matches = CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(XapiBasic.Hash(secret)));
        if (credential is null || !matches || credential.RevokedAt is not null)
        {
            return AuthenticateResult.Fail("Unknown or revoked key, or wrong secret.");
        }
        var identity = new ClaimsIdentity(
        [
            new Claim(BeaconClaims.Subject, $"xapi-key:{credential.Key}"),
            new Claim(BeaconClaims.Name, credential.Source),
            new Claim(BeaconClaims.Role, Roles.Feed),
            new Claim(XapiBasic.SourceClaim, credential.Source),
        ], Scheme.Name, BeaconClaims.Name, BeaconClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append("WWW-Authenticate", "Basic realm=\"Beacon xAPI\", charset=\"UTF-8\"");
        return Task.CompletedTask;
    }
}
