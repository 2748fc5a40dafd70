using Duende.IdentityModel.Client;

namespace ForwardAuth.Oidc;

/// <summary>
/// Keeps the token endpoint's answer to the exchange of one <see cref="Duende.IdentityModel.OidcClient.OidcClient"/>
/// (a code or a refresh token), parsed by Duende.IdentityModel as the library parses it. The library reports a failed
/// exchange as text only; ForwardAuth answers by its kind — a refusal (<c>invalid_grant</c>: retried once at the
/// callback, the session ended at a refresh) or a provider it could not reach (502, the session kept) — and keeps a
/// rotated refresh token even when the library refuses the rest of the answer.
/// </summary>
internal sealed class TokenAnswerRecorder(Uri tokenEndpoint) : DelegatingHandler
{
    /// <summary>The answer, or the transport failure as Duende.IdentityModel reports one; null until the endpoint was called.</summary>
    public TokenResponse? Answer { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri != tokenEndpoint)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Answer = ProtocolResponse.FromException<TokenResponse>(e);
            throw;
        }

        Answer = await ProtocolResponse.FromHttpResponseAsync<TokenResponse>(response).ConfigureAwait(false);
        return response;
    }
}
