using System.Security.Claims;
using Beacon.ServiceDefaults;

namespace Beacon.Interventions.Apis;

/// <summary>
/// Who does a write (opens, assigns, plans, starts, notes, completes, closes) is the token's subject, never
/// what the body says: a body may still name the actor (older clients do), but only the caller themself.
/// The one exception is a service account (role <c>service</c>), which acts on behalf of the person it names,
/// because its own subject is a machine; without a name it acts as itself.
/// </summary>
public static class ActingUser
{
    public static (string? Actor, IResult? Problem) Resolve(ClaimsPrincipal user, string? named, string field)
    {
        if (user.IsInRole(Roles.Service) && !string.IsNullOrWhiteSpace(named))
        {
            return (named, null);
        }
        var subject = user.UserId();
        if (string.IsNullOrWhiteSpace(subject))
        {
            return (null, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The token names no user",
                detail: "Writes are recorded under the token's subject (claim 'sub'); this token has none."));
        }
        if (!string.IsNullOrEmpty(named) && !string.Equals(named, subject, StringComparison.Ordinal))
        {
            return (null, Results.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [$"'{named}' is not the signed-in user; leave {field} out, the acting user is taken from the token."] },
                title: "Invalid request; nothing was changed"));
        }
        return (subject, null);
    }
}
