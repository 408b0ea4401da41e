using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;

namespace Beacon.Gateway.Security;

/// <summary>
/// Renews a session's access token with its refresh token shortly before it expires (on any request the session
/// makes), and ends the session when the provider refuses (revoked, user disabled). Concurrent requests of one
/// session share one renewal: providers rotate refresh tokens and may revoke a family when one is used twice. The
/// renewed tokens are written to the session store before any request uses them (see <see cref="StaffSessionStore"/>).
/// </summary>
public sealed class TokenRefresher(StaffSessionStore store, IProviderTokens provider, IOptions<OidcSessionOptions> options,
    TimeProvider clock, ILogger<TokenRefresher> logger)
{
    private readonly ConcurrentDictionary<string, Task<AuthenticationTicket?>> _renewals = new(StringComparer.Ordinal);

    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var props = context.Properties;
        if (!NeedsRenewal(props) || !props.Items.TryGetValue(StaffSessionStore.KeyItem, out var key) || key is null)
        {
            return;
        }
        var refreshToken = props.GetTokenValue("refresh_token");
        var current = refreshToken is null ? null : await _renewals.GetOrAdd(refreshToken, token => Renew(key, token));
        if (current is null)
        {
            logger.LogInformation("Session of {User} ended: its access token could not be renewed", context.Principal?.UserId());
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(OidcSession.SessionScheme);
            return;
        }
        // This request goes on with the session's newest tokens; the store has them already, and the cookie (the
        // session's key) does not change.
        props.StoreTokens(current.Properties.GetTokens());
    }

    private bool NeedsRenewal(AuthenticationProperties props) =>
        DateTimeOffset.TryParse(props.GetTokenValue("expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiresAt)
        && clock.GetUtcNow() >= expiresAt - options.Value.RefreshBefore;

    private Task<AuthenticationTicket?> Renew(string key, string refreshToken)
    {
        var task = RenewAsync(key, refreshToken);
        // Kept a little while: a request that read the session before the renewal was stored still carries the old token.
        _ = task.ContinueWith(_ => Task.Delay(TimeSpan.FromSeconds(30)).ContinueWith(_ => _renewals.TryRemove(refreshToken, out var _), TaskScheduler.Default), TaskScheduler.Default);
        return task;
    }

    private async Task<AuthenticationTicket?> RenewAsync(string key, string refreshToken)
    {
        // Another replica may have renewed it already: the store holds the session's newest tokens.
        var stored = await store.RetrieveAsync(key);
        if (stored is null)
        {
            return null;
        }
        var from = stored.Properties.GetTokenValue("refresh_token");
        if (from != refreshToken && from is not null)
        {
            // Renewed meanwhile: use those tokens, or share the renewal of the newest refresh token (never one of its own).
            return NeedsRenewal(stored.Properties) ? await _renewals.GetOrAdd(from, token => Renew(key, token)) : stored;
        }
        var answer = from is null ? null : await provider.RedeemAsync(from);
        if (answer is not { } tokens)
        {
            // Refused: unless another replica redeemed it a moment ago and stored what it got, the session is over.
            var again = await store.RetrieveAsync(key);
            return again is not null && again.Properties.GetTokenValue("refresh_token") != from ? again : null;
        }
        var renewed = new AuthenticationTicket(stored.Principal, stored.Properties.Clone(), stored.AuthenticationScheme);
        var values = renewed.Properties.GetTokens().ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
        foreach (var name in new[] { "access_token", "refresh_token", "id_token" })
        {
            if (tokens.TryGetProperty(name, out var value) && value.GetString() is { } v)
            {
                values[name] = v;
            }
        }
        var lifetime = tokens.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 300;
        values["expires_at"] = (clock.GetUtcNow() + TimeSpan.FromSeconds(lifetime)).ToString("o", CultureInfo.InvariantCulture);
        renewed.Properties.StoreTokens(values.Select(v => new AuthenticationToken { Name = v.Key, Value = v.Value }));
        var (outcome, current) = await store.ReplaceAsync(key, renewed, renewedFrom: from);
        return outcome == RenewalOutcome.Ended ? null : current;
    }
}

/// <summary>The provider's token and revocation endpoints, as the gateway's confidential client.</summary>
public interface IProviderTokens
{
    /// <summary>A refresh token grant: the token response, or null when the provider refused or could not be reached.</summary>
    Task<JsonElement?> RedeemAsync(string refreshToken);

    /// <summary>Revokes a refresh token at the provider's revocation endpoint (RFC 7009), when it has one.</summary>
    Task RevokeAsync(string refreshToken, CancellationToken ct);
}

public sealed class ProviderTokens(IOptionsMonitor<OpenIdConnectOptions> oidcOptions, IHttpClientFactory httpClients, ILogger<ProviderTokens> logger)
    : IProviderTokens
{
    public async Task<JsonElement?> RedeemAsync(string refreshToken)
    {
        try
        {
            var oidc = oidcOptions.Get(OidcSession.OidcScheme);
            var configuration = await oidc.ConfigurationManager!.GetConfigurationAsync(CancellationToken.None);
            using var response = await httpClients.CreateClient(nameof(ProviderTokens)).PostAsync(configuration.TokenEndpoint, new FormUrlEncodedContent(
                new Dictionary<string, string>
                {
                    ["grant_type"] = "refresh_token",
                    ["refresh_token"] = refreshToken,
                    ["client_id"] = oidc.ClientId!,
                    ["client_secret"] = oidc.ClientSecret!,
                }));
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync();
                logger.LogWarning("The provider refused to renew an access token: {Status} {Body}", (int)response.StatusCode, body.Length > 300 ? body[..300] : body);
                return null;
            }
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or JsonException)
        {
            logger.LogWarning(ex, "Renewing an access token failed");
            return null;
        }
    }

    public async Task RevokeAsync(string refreshToken, CancellationToken ct)
    {
        try
        {
            var oidc = oidcOptions.Get(OidcSession.OidcScheme);
            var configuration = await oidc.ConfigurationManager!.GetConfigurationAsync(ct);
            // The metadata model keeps fields it does not know in AdditionalData; where this version knows none, read
            // the discovery document itself rather than skip the revocation without a word.
            var url = configuration.AdditionalData.TryGetValue("revocation_endpoint", out var endpoint) && endpoint?.ToString() is { Length: > 0 } known
                ? known
                : await RevocationEndpointAsync(oidc, ct);
            if (url is null)
            {
                logger.LogWarning("The provider names no revocation endpoint: the refresh token is not revoked at sign-out");
                return;
            }
            using var response = await httpClients.CreateClient(nameof(ProviderTokens)).PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = refreshToken,
                ["token_type_hint"] = "refresh_token",
                ["client_id"] = oidc.ClientId!,
                ["client_secret"] = oidc.ClientSecret!,
            }), ct);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The provider did not revoke a refresh token: {Status}", (int)response.StatusCode);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or JsonException)
        {
            logger.LogWarning(ex, "Revoking a refresh token failed");
        }
    }

    private async Task<string?> RevocationEndpointAsync(OpenIdConnectOptions oidc, CancellationToken ct)
    {
        var metadata = oidc.MetadataAddress ?? $"{oidc.Authority!.TrimEnd('/')}/.well-known/openid-configuration";
        using var document = JsonDocument.Parse(await httpClients.CreateClient(nameof(ProviderTokens)).GetStringAsync(metadata, ct));
        return document.RootElement.TryGetProperty("revocation_endpoint", out var value) && value.GetString() is { Length: > 0 } url ? url : null;
    }
}
